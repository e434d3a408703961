// Preference tokenization: where the shared prompt ends and each answer begins, on real tokenizers
// (stories260K's sentencepiece with BOS, a byte-level ChatML one), ids used exactly, and TRL's truncation
// (prompt keeps its end, prompt + answer keeps its start) with exact counts.

import { describe, expect, test } from 'vitest';
import { detectFormat } from '../../src/engine/data/detect';
import { toPreferenceDataset } from '../../src/engine/data/preference-examples';
import { parseRecords } from '../../src/engine/data/read-records';
import { tokenizePreferenceDataset, type PreferenceTokenizeOptions } from '../../src/engine/data/tokenize-preference';
import { renderChat } from '../../src/engine/model/chat-template';
import { parseModelConfig } from '../../src/engine/model/config';
import { ModelFormatError } from '../../src/engine/model/errors';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { byteLevelTokenizer } from '../helpers/byte-level-tokenizer';
import { STORIES_BOS, STORIES_EOS, storiesTokenizer } from '../helpers/stories-tokenizer';

function pairs(records: object[]) {
  const bytes = new TextEncoder().encode(records.map((r) => JSON.stringify(r)).join('\n'));
  return toPreferenceDataset(detectFormat(parseRecords(bytes, 'pairs.jsonl'), 'dpo'));
}
const tokenize = (records: object[], tok: ModelTokenizer, options: PreferenceTokenizeOptions) => tokenizePreferenceDataset(pairs(records), tok, options);
const count = (ids: number[], id: number) => ids.filter((t) => t === id).length;
const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });

// stories260K's own special tokens as a chat format: <s>role: content</s> per turn.
const STORIES_CHAT =
  "{% for m in messages %}{{ bos_token }}{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}{{ bos_token }}assistant:{% endif %}";
// ChatML turns, as Qwen2 and SmolLM2 write them.
const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A byte-level BPE tokenizer (no BOS) whose EOS is ChatML's end of turn. */
function chatmlTokenizer() {
  const { tokenizer, special } = byteLevelTokenizer();
  const eos = special['<|im_end|>'];
  const config = parseModelConfig({ architectures: ['Qwen2ForCausalLM'], hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 1, vocab_size: 512, eos_token_id: eos });
  return { tok: new ModelTokenizer({ config, tokenizer, tokenizerConfig: { chat_template: CHATML, eos_token: '<|im_end|>' } }), eos };
}

describe('text pairs on a Llama tokenizer (BOS, EOS)', () => {
  test('BOS once at the start of the prompt, EOS appended to each answer, prompt + answer = the whole encoded', () => {
    const tok = storiesTokenizer();
    const out = tokenize([{ prompt: 'Once upon a time', chosen: ' there was a cat.', rejected: ' there was a dog. The end.</s>' }], tok, { maxLength: 64 });
    expect(out.errors).toEqual([]);
    const [pair] = out.pairs;
    expect(pair.prompt).toEqual([STORIES_BOS, 403, 407, 261, 378]); // <s> Once upon a time
    expect([...pair.prompt, ...pair.chosen]).toEqual([...tok.encode('Once upon a time there was a cat.'), STORIES_EOS]);
    expect(pair.chosen[0]).toBe(383); // "there": the answer starts right after the prompt's last token
    // An answer that already ends with EOS does not get a second one.
    expect([...pair.prompt, ...pair.rejected]).toEqual(tok.encode('Once upon a time there was a dog. The end.</s>'));
    expect(count(pair.rejected, STORIES_EOS)).toBe(1);
    expect(out.boundaryMismatches).toBe(0);
  });

  test('a prompt whose last token merges into the answer: counted, and the shared prompt is the common prefix', () => {
    const tok = storiesTokenizer();
    // "Once upon a ti" ends in "t", "i"; with "me" the text holds the single token "time".
    const out = tokenize([{ prompt: 'Once upon a ti', chosen: 'me there', rejected: 'me was' }], tok, { maxLength: 64 });
    const [pair] = out.pairs;
    expect(out.boundaryMismatches).toBe(1);
    expect(pair.prompt).toEqual([STORIES_BOS, 403, 407, 261]);
    expect([...pair.prompt, ...pair.chosen]).toEqual([...tok.encode('Once upon a time there'), STORIES_EOS]);
    expect([...pair.prompt, ...pair.rejected]).toEqual([...tok.encode('Once upon a time was'), STORIES_EOS]);
  });

  test('an implicit pair with nothing shared has the empty prompt, which is BOS alone', () => {
    const out = tokenize([{ chosen: 'Yes.', rejected: 'No.' }], storiesTokenizer(), { maxLength: 64 });
    expect(out.pairs[0].prompt).toEqual([STORIES_BOS]);
    expect(out.pairs[0].chosen.at(-1)).toBe(STORIES_EOS);
  });
});

describe('chat pairs through the chat template', () => {
  test('ChatML: the prompt ends with the generation prompt, each answer is the rest of its turn, no EOS added', () => {
    const { tok, eos } = chatmlTokenizer();
    const prompt = [user('Hello')];
    const out = tokenize([{ prompt, chosen: [assistant('Hello world')], rejected: [assistant('the cat sat')] }], tok, { maxLength: 128 });
    const [pair] = out.pairs;
    expect(tok.decode(pair.prompt)).toBe('<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n');
    expect(tok.decode(pair.chosen)).toBe('Hello world<|im_end|>\n');
    expect(tok.decode(pair.rejected)).toBe('the cat sat<|im_end|>\n');
    // The template ends the turn: one end-of-turn token, and the newline after it is last.
    expect(count(pair.chosen, eos)).toBe(1);
    expect(pair.chosen.at(-1)).not.toBe(eos);
    const full = tok.encode(renderChat(tok.tokenizerConfig, [...prompt, assistant('Hello world')], { addGenerationPrompt: false }), { addSpecialTokens: false });
    expect([...pair.prompt, ...pair.chosen]).toEqual(full);
    expect(out.boundaryMismatches).toBe(0);
  });

  test('a template that writes BOS and EOS (stories260K): BOS once, the answer ends with the template EOS only', () => {
    const tok = storiesTokenizer({ tokenizerConfig: { chat_template: STORIES_CHAT } });
    const out = tokenize([{ chosen: [user('Tell a story.'), assistant('Lily ran.')], rejected: [user('Tell a story.'), assistant('Tom sat.')] }], tok, { maxLength: 128 });
    const [pair] = out.pairs;
    expect(pair.prompt[0]).toBe(STORIES_BOS);
    expect(pair.prompt[1]).not.toBe(STORIES_BOS);
    // Two BOS in the prompt: the user turn's and the generation prompt's.
    expect(count(pair.prompt, STORIES_BOS)).toBe(2);
    expect(tok.decode(pair.prompt)).toBe('<s> user: Tell a story.</s><s> assistant:');
    expect(count(pair.chosen, STORIES_EOS)).toBe(1);
    expect(pair.chosen.at(-1)).toBe(STORIES_EOS);
    expect(tok.decode([...pair.prompt, ...pair.chosen])).toBe('<s> user: Tell a story.</s><s> assistant: Lily ran.</s>');
  });

  test('chat pairs for a model without a chat template are refused once for the whole dataset', () => {
    const records = [1, 2].map(() => ({ prompt: [user('a')], chosen: [assistant('b')], rejected: [assistant('c')] }));
    expect(() => tokenize(records, storiesTokenizer(), { maxLength: 64 })).toThrow(ModelFormatError);
    expect(() => tokenize(records, storiesTokenizer(), { maxLength: 64 })).toThrow(/^tokenizer_config\.json: has no "chat_template"/);
  });
});

describe('pre-tokenized pairs and truncation', () => {
  test('ids are used exactly: no BOS, no EOS', () => {
    const out = tokenize([{ prompt_input_ids: [5, 6], chosen_input_ids: [7], rejected_input_ids: [8, 9] }], storiesTokenizer(), { maxLength: 16 });
    expect(out.pairs).toEqual([{ line: 1, prompt: [5, 6], chosen: [7], rejected: [8, 9] }]);
  });

  test('the prompt keeps its last maxPromptLength tokens, prompt + answer its first maxLength; a pair is counted once', () => {
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    const row = (prompt: number[], chosen: number[], rejected: number[]) => ({ prompt_ids: prompt, chosen_ids: chosen, rejected_ids: rejected });
    const out = tokenize(
      [
        row(ids(11, 6), [20], [30]), // prompt cut to its last 4
        row([11, 12], ids(20, 5), [30]), // chosen cut to 4
        row([11, 12], ids(20, 5), ids(30, 6)), // both cut: one truncated pair
        row([11, 12], [20, 21, 22, 23, 24], [20, 21, 22, 23, 99]), // equal once cut: identical, skipped
      ],
      storiesTokenizer(),
      { maxLength: 6, maxPromptLength: 4 },
    );
    expect(out.pairs).toEqual([
      { line: 1, prompt: [13, 14, 15, 16], chosen: [20], rejected: [30] },
      { line: 2, prompt: [11, 12], chosen: [20, 21, 22, 23], rejected: [30] },
      { line: 3, prompt: [11, 12], chosen: [20, 21, 22, 23], rejected: [30, 31, 32, 33] },
    ]);
    expect([out.promptTruncated, out.truncated, out.identical, out.errors.length]).toEqual([1, 2, 1, 0]);
  });

  test('a prompt that fills maxLength leaves no answer token: a per-line error (TRL drops such pairs)', () => {
    const row = (n: number) => ({ prompt_ids: Array.from({ length: n }, (_, i) => 100 + i), chosen_ids: [20, 21], rejected_ids: [30, 31] });
    const out = tokenize([row(6), row(10), row(5)], storiesTokenizer(), { maxLength: 6, maxPromptLength: 8 });
    expect(out.errors).toEqual([
      { line: 1, message: 'has a prompt of 6 tokens, which leaves no room for an answer within the maximum length of 6 tokens' },
      { line: 2, message: 'has a prompt of 8 tokens, which leaves no room for an answer within the maximum length of 6 tokens' },
    ]);
    expect(out.pairs).toEqual([{ line: 3, prompt: [100, 101, 102, 103, 104], chosen: [20], rejected: [30] }]);
    expect([out.promptTruncated, out.truncated]).toEqual([0, 1]);
  });

  test('text on a real tokenizer: the cut prompt loses BOS and its start; the default prompt limit is 512', () => {
    const tok = storiesTokenizer();
    const prompt = 'Once upon a time, there was a little girl named Lily.';
    const out = tokenize([{ prompt, chosen: ' She liked to play.', rejected: ' She ran.' }], tok, { maxLength: 7, maxPromptLength: 4 });
    const [pair] = out.pairs;
    expect(pair.prompt).toEqual(tok.encode(prompt).slice(-4));
    expect(pair.prompt).not.toContain(STORIES_BOS);
    expect(pair.chosen).toEqual(tok.encode(prompt + ' She liked to play.').slice(tok.encode(prompt).length, tok.encode(prompt).length + 3));
    expect([out.promptTruncated, out.truncated]).toEqual([1, 1]);

    // 600 ids within stories260K's vocabulary of 512.
    const long = { prompt_ids: Array.from({ length: 600 }, (_, i) => i % 512), chosen_ids: [1], rejected_ids: [2] };
    const byDefault = tokenize([long], tok, { maxLength: 1024 });
    expect(byDefault.pairs[0].prompt).toEqual(long.prompt_ids.slice(88));
    expect(byDefault.promptTruncated).toBe(1);
  });

  test('lengths must be integers: maxLength >= 2, maxPromptLength >= 1', () => {
    const records = [{ prompt: 'a', chosen: 'b', rejected: 'c' }];
    expect(() => tokenize(records, storiesTokenizer(), { maxLength: 1 })).toThrow(new RangeError('maximum length must be an integer >= 2, got 1'));
    expect(() => tokenize(records, storiesTokenizer(), { maxLength: 8, maxPromptLength: 0 })).toThrow(new RangeError('maximum prompt length must be an integer >= 1, got 0'));
  });
});
