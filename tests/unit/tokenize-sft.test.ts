// SFT tokenization: which tokens are trained, for every example shape, on stories260K's real tokenizer.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { detectFormat } from '../../src/engine/data/detect';
import { parseRecords } from '../../src/engine/data/read-records';
import { toSftDataset } from '../../src/engine/data/sft-examples';
import { tokenizeSftDataset } from '../../src/engine/data/tokenize-sft';
import { readModelConfig } from '../../src/engine/model/config';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { STORIES260K_DIR } from '../helpers/tiny-models';

const json = (name: string) => JSON.parse(readFileSync(join(STORIES260K_DIR, name), 'utf8'));
const config = readModelConfig(readFileSync(join(STORIES260K_DIR, 'config.json'), 'utf8'));
// A chat format made of stories260K's own special tokens: <s>role: content</s> per turn.
const CHAT_TEMPLATE =
  "{% for m in messages %}{{ bos_token }}{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}{{ bos_token }}assistant:{% endif %}";

function tokenizer(chat = false) {
  const tokenizerConfig = { ...json('tokenizer_config.json'), ...(chat ? { chat_template: CHAT_TEMPLATE } : {}) };
  return new ModelTokenizer({ tokenizer: json('tokenizer.json'), tokenizerConfig, config });
}

function dataset(lines: object[]) {
  const bytes = new TextEncoder().encode(lines.map((l) => JSON.stringify(l)).join('\n'));
  return toSftDataset(detectFormat(parseRecords(bytes, 'data.jsonl'), 'sft'));
}

/** The trained tokens decoded, and the untrained ones, for readable assertions. */
function split(tok: ModelTokenizer, ids: number[], mask: number[]) {
  return {
    trained: tok.decode(ids.filter((_, i) => mask[i] === 1)),
    untrained: tok.decode(ids.filter((_, i) => mask[i] === 0)),
  };
}

describe('tokenizeSftDataset', () => {
  test('prompt-completion: loss on the completion and the appended EOS only', () => {
    const tok = tokenizer();
    const out = tokenizeSftDataset(dataset([{ prompt: 'Setting: a rainy forest.\n', completion: 'Once upon a time, in a rainy forest, there was a frog.' }]), tok, { maxLength: 128 });
    const { inputIds, trainMask } = out.examples[0];
    expect(inputIds[0]).toBe(1); // BOS
    expect(inputIds.at(-1)).toBe(2); // EOS, trained
    expect(trainMask.at(-1)).toBe(1);
    const { trained, untrained } = split(tok, inputIds, trainMask);
    expect(untrained).toBe('<s> Setting: a rainy forest.\n');
    expect(trained).toBe('Once upon a time, in a rainy forest, there was a frog.</s>');
    expect(out.boundaryMismatches).toBe(0);
    const all = tokenizeSftDataset(dataset([{ prompt: 'Setting: a rainy forest.\n', completion: 'Once.' }]), tok, { maxLength: 128, completionOnly: false });
    expect(all.examples[0].trainMask.every((m) => m === 1)).toBe(true);
  });

  test('chat: only assistant turns are trained, their end-of-turn token included', () => {
    const tok = tokenizer(true);
    const out = tokenizeSftDataset(
      dataset([{ messages: [{ role: 'user', content: 'Tell a story.' }, { role: 'assistant', content: 'Lily ran.' }, { role: 'user', content: 'More.' }, { role: 'assistant', content: 'Tom sat.' }] }]),
      tok,
      { maxLength: 256 },
    );
    const { inputIds, trainMask } = out.examples[0];
    const trainedIds = inputIds.filter((_, i) => trainMask[i] === 1);
    expect(trainedIds.filter((id) => id === 2)).toHaveLength(2); // both assistant </s>
    expect(tok.decode(trainedIds)).toBe('Lily ran.</s> Tom sat.</s>');
    expect(split(tok, inputIds, trainMask).untrained).not.toMatch(/Lily|Tom/);
    expect(out.boundaryMismatches).toBe(0);
  });

  test('chat data for a model without a chat template is refused, naming tokenizer_config.json', () => {
    expect(() => tokenizeSftDataset(dataset([{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }]), tokenizer(), { maxLength: 64 })).toThrow(
      /tokenizer_config.json: has no "chat_template"/,
    );
  });

  test('text gets BOS and EOS and is trained everywhere; truncation is counted; nothing-to-train is reported', () => {
    const tok = tokenizer();
    const long = 'Once upon a time there was a little girl named Lily who loved to play outside in the sun.';
    const out = tokenizeSftDataset(dataset([{ text: 'Lily ran.' }, { text: long }]), tok, { maxLength: 8 });
    expect(out.examples[0].inputIds[0]).toBe(1);
    expect(out.examples[0].inputIds.at(-1)).toBe(2);
    expect(out.examples[1].inputIds).toHaveLength(8);
    expect(out.truncated).toBe(1);
    const pc = tokenizeSftDataset(dataset([{ prompt: long, completion: ' The end.' }]), tok, { maxLength: 8 });
    expect(pc.examples).toHaveLength(0);
    expect(pc.errors).toEqual([{ line: 1, message: 'has no trained token within the first 8 tokens' }]);
  });

  test('pre-tokenized: ids and mask kept as given', () => {
    const out = tokenizeSftDataset(dataset([{ input_ids: [1, 403, 407, 2], completion_mask: [0, 0, 1, 1] }]), tokenizer(), { maxLength: 16 });
    expect(out.examples[0]).toEqual({ line: 1, inputIds: [1, 403, 407, 2], trainMask: [0, 0, 1, 1] });
  });
});
