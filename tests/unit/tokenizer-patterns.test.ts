// A tokenizer.json whose regex backtracks catastrophically (written here at test time) is refused when the
// tokenizer is loaded, naming tokenizer.json, where the pattern sits and the time limit, instead of hanging
// the first time a text with a long run of one character is tokenized; real models' patterns load as before.

import { describe, expect, test } from 'vitest';
import { parseModelConfig } from '../../src/engine/model/config';
import { ModelFormatError } from '../../src/engine/model/errors';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { PATTERN_PROBE_LIMIT_MS } from '../../src/engine/model/tokenizer-patterns';
import { chatTokenizerJson } from '../helpers/chat-template-shapes';

const CONFIG = parseModelConfig({ architectures: ['Qwen2ForCausalLM'], hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 1024 });

/** The byte-level test tokenizer with a Split pre-tokenizer on `pattern` before its byte-level step (as Qwen2's). */
function withSplit(pattern: string): Record<string, unknown> {
  return {
    ...chatTokenizerJson(),
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
  };
}

function refusal(tokenizer: Record<string, unknown>): { error: ModelFormatError; ms: number } {
  const start = performance.now();
  try {
    new ModelTokenizer({ config: CONFIG, tokenizer });
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFormatError);
    return { error: error as ModelFormatError, ms: performance.now() - start };
  }
  throw new Error('the tokenizer was accepted');
}

// Written from the public pre-tokenizer patterns of GPT-2, Llama 3, Qwen2 and GPT-4o (o200k).
const REAL_PATTERNS = {
  gpt2: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  llama3: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  o200k:
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

describe('tokenizer.json patterns that backtrack catastrophically', () => {
  test('a Split pattern (a+)+$ is refused at load, naming tokenizer.json, the pattern and the limit', () => {
    const { error, ms } = refusal(withSplit('(a+)+$'));
    expect(error.file).toBe('tokenizer.json');
    expect(error.message).toMatch(
      new RegExp(
        `^tokenizer\\.json: pre_tokenizer\\.pretokenizers\\[0\\] \\(Split\\) pattern "\\(a\\+\\)\\+\\$" backtracks catastrophically: ` +
          `matching it on "a+(…a+)?!" \\(\\d+ characters\\) took \\d+ ms, over the ${PATTERN_PROBE_LIMIT_MS} ms limit`,
      ),
    );
    // Time doubles with each character: the probe stops a few limits in, where 40 characters would take hours.
    expect(ms).toBeLessThan(20 * PATTERN_PROBE_LIMIT_MS);
  });

  test('a Replace normalizer pattern is probed too, and the refusal is remembered', () => {
    const hostile = { ...chatTokenizerJson(), normalizer: { type: 'Replace', pattern: { Regex: '(\\s*)*x' }, content: '' } };
    const first = refusal(hostile);
    expect(first.error.message).toMatch(/^tokenizer\.json: normalizer \(Replace\) pattern "\(\\\\s\*\)\*x" backtracks catastrophically: matching it on "[\s…]+" \(\d+ characters\)/);
    const again = refusal(hostile);
    expect(again.error.message).toBe(first.error.message);
    expect(again.ms).toBeLessThan(first.ms);
  });

  test('the pre-tokenizer patterns of GPT-2, Llama 3, Qwen2 and GPT-4o load, and tokenize as before', () => {
    for (const [name, pattern] of Object.entries(REAL_PATTERNS)) {
      const tokenizer = new ModelTokenizer({ config: CONFIG, tokenizer: withSplit(pattern) });
      const text = "Hello world, it's 2024!\n\n  done";
      expect(tokenizer.decode(tokenizer.encode(text)), name).toBe(text);
    }
  });
});
