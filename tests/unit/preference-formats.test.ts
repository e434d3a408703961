// Preference datasets (DPO, SimPO, ORPO): every shape detected without a method and normalised to
// prompt / chosen / rejected as TRL reads it (implicit prompts by TRL's extract_prompt), per-line errors,
// identical pairs counted, and refusals both ways naming the missing fields. The LLaMA-Factory demo files
// are read from ../shared at test time.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { detectDataset, detectFormat, DatasetMethodError } from '../../src/engine/data/detect';
import { METHOD_FORMATS, methodsForFormat, type DatasetFormat, type TrainingMethod } from '../../src/engine/data/formats';
import { toPreferenceDataset, type PreferenceExample } from '../../src/engine/data/preference-examples';
import { parseRecords } from '../../src/engine/data/read-records';

const DATA = resolve(__dirname, '../../../shared/assets/datasets/llamafactory-demo');
const demoBytes = (name: string) => new Uint8Array(readFileSync(resolve(DATA, name)));
const demoJson = (name: string) => JSON.parse(readFileSync(resolve(DATA, name), 'utf8'));
const jsonl = (records: unknown[]) => new TextEncoder().encode(records.map((r) => JSON.stringify(r)).join('\n'));

function preference(bytes: Uint8Array, name = 'pairs.jsonl') {
  return toPreferenceDataset(detectFormat(parseRecords(bytes, name), 'dpo'));
}
const examples = (records: unknown[]) => preference(jsonl(records)).examples.map((e) => e.example);
const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });
/** Normalised messages carry a train flag: assistant turns true by default. */
const msg = (role: string, content: string) => ({ role, content, train: role === 'assistant' });

/** The message of the DatasetMethodError that refuses this file for `method`. */
function refusal(bytes: Uint8Array, file: string, method: TrainingMethod): string {
  let error: unknown;
  try {
    detectFormat(parseRecords(bytes, file), method);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(DatasetMethodError);
  return (error as Error).message;
}

describe('TRL preference records', () => {
  test('standard with an explicit prompt: kept exactly as text, detected without a method, fits DPO only', () => {
    const bytes = jsonl([{ prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' }]);
    const detected = detectDataset(parseRecords(bytes, 'pairs.jsonl'));
    expect(detected.format).toBe('preference');
    expect(methodsForFormat(detected.format)).toEqual(['dpo']);
    expect(preference(bytes).examples).toEqual([{ line: 1, example: { kind: 'text', prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' } }]);
  });

  test('implicit text prompt: the longest common prefix, the space before the split going to the completions', () => {
    const out = examples([
      { chosen: 'The sky is blue.', rejected: 'The sky is green.' },
      { chosen: 'abcX', rejected: 'abcY' },
      // One is a prefix of the other: TRL's loop ends on the last shared index, which starts both completions.
      { chosen: 'Hello', rejected: 'Hello there' },
      // Nothing shared: an empty prompt (TRL allows it for text).
      { chosen: 'Yes.', rejected: 'No.' },
      // Compared by code point as Python does: the two emoji share their first UTF-16 unit only.
      { chosen: '\u{1F600}!', rejected: '\u{1F601}!' },
    ]);
    expect(out).toEqual<PreferenceExample[]>([
      { kind: 'text', prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' },
      { kind: 'text', prompt: 'abc', chosen: 'X', rejected: 'Y' },
      { kind: 'text', prompt: 'Hell', chosen: 'o', rejected: 'o there' },
      { kind: 'text', prompt: '', chosen: 'Yes.', rejected: 'No.' },
      { kind: 'text', prompt: '', chosen: '\u{1F600}!', rejected: '\u{1F601}!' },
    ]);
  });

  test('conversational with an explicit prompt: three message lists', () => {
    const [ex] = examples([{ prompt: [user('Sky colour?')], chosen: [assistant('Blue.')], rejected: [assistant('Green.')] }]);
    expect(ex).toEqual({ kind: 'chat', prompt: [msg('user', 'Sky colour?')], chosen: [msg('assistant', 'Blue.')], rejected: [msg('assistant', 'Green.')] });
  });

  test('conversational implicit prompt: the turns both conversations start with', () => {
    const out = examples([
      { chosen: [user('Hi'), assistant('Hello!')], rejected: [user('Hi'), assistant('Go away.')] },
      { chosen: [user('A'), assistant('B'), user('C'), assistant('D')], rejected: [user('A'), assistant('B'), user('C'), assistant('E')] },
      // chosen is a prefix of rejected: the last shared turn starts both completions (TRL's loop).
      { chosen: [user('A'), assistant('B')], rejected: [user('A'), assistant('B'), user('C'), assistant('D')] },
    ]);
    expect(out[0]).toEqual({ kind: 'chat', prompt: [msg('user', 'Hi')], chosen: [msg('assistant', 'Hello!')], rejected: [msg('assistant', 'Go away.')] });
    expect(out[1].kind === 'chat' && out[1].prompt.map((m) => m.content)).toEqual(['A', 'B', 'C']);
    expect(out[1].kind === 'chat' && [out[1].chosen, out[1].rejected]).toEqual([[msg('assistant', 'D')], [msg('assistant', 'E')]]);
    expect(out[2].kind === 'chat' && [out[2].prompt, out[2].chosen.length, out[2].rejected.length]).toEqual([[msg('user', 'A')], 1, 3]);
  });

  test('a text prompt beside conversational answers is ignored and the prompt extracted (maybe_extract_prompt)', () => {
    const [ex] = examples([{ prompt: 'Hi', chosen: [user('Hi'), assistant('Hello!')], rejected: [user('Hi'), assistant('Bye.')] }]);
    expect(ex).toEqual({ kind: 'chat', prompt: [msg('user', 'Hi')], chosen: [msg('assistant', 'Hello!')], rejected: [msg('assistant', 'Bye.')] });
  });

  test('identical pairs are counted and skipped, not errors, for text, chats, implicit prompts and ids', () => {
    const d = preference(
      jsonl([
        { prompt: 'p', chosen: 'same', rejected: 'same' },
        { chosen: 'whole same', rejected: 'whole same' },
        { chosen: [user('Hi')], rejected: [user('Hi')] },
        { prompt: 'p', chosen: 'a', rejected: 'b' },
      ]),
    );
    expect(d.identical).toBe(3);
    expect(d.errors).toEqual([]);
    expect(d.examples.map((e) => e.line)).toEqual([4]);
    const ids = preference(jsonl([{ prompt_ids: [1], chosen_ids: [5, 6], rejected_ids: [5, 6] }]));
    expect([ids.identical, ids.examples.length]).toEqual([1, 0]);
  });

  test('bad fields are per-line errors naming the field; the other records are kept', () => {
    const d = preference(
      jsonl([
        { prompt: 'ok', chosen: 'a', rejected: 'b' },
        { prompt: 'p', chosen: 5, rejected: 'b' },
        { prompt: [user('q')], chosen: [assistant('a'), { role: 'user', content: 7 }], rejected: [assistant('b')] },
        { prompt: 'p', chosen: 'a', rejected: [assistant('b')] },
        { prompt: 'p', chosen: '', rejected: 'b' },
        { chosen: 'x', rejected: '' },
        { chosen: [user('A'), assistant('B')], rejected: [user('Z'), assistant('B')] },
      ]),
    );
    expect(d.examples.map((e) => e.line)).toEqual([1]);
    expect(d.errors).toEqual([
      { line: 2, message: 'field "chosen" must be a string or a list of messages' },
      { line: 3, message: 'chosen[1].content must be a string or a list of text parts' },
      { line: 4, message: 'fields "chosen" and "rejected" must both be strings or both be lists of messages' },
      { line: 5, message: 'field "chosen" has no answer: an empty completion cannot be compared' },
      { line: 6, message: 'field "rejected" has no answer after the shared prompt: an empty completion cannot be compared' },
      {
        line: 7,
        message: '"chosen" and "rejected" do not start with the same message, so they have no shared prompt (the turns both start with are the prompt)',
      },
    ]);
  });

  test('records of another format in a preference dataset are reported with their lines', () => {
    const d = preference(jsonl([{ chosen: 'a', rejected: 'b' }, { prompt: 'p', completion: 'c' }, { chosen: 'c', rejected: 'd' }, { foo: 1 }]));
    expect(d.format).toBe('preference');
    expect(d.examples.map((e) => e.line)).toEqual([1, 3]);
    expect(d.errors.map((e) => e.line)).toEqual([2, 4]);
    expect(d.errors[0].message).toBe('is a prompt-completion ({"prompt", "completion"}) record in a preference ({"prompt"?, "chosen", "rejected"}, as text or message lists) dataset');
    expect(d.errors[1].message).toMatch(/^has fields "foo", expected preference/);
  });
});

describe('LLaMA-Factory preference records', () => {
  test('pairwise Alpaca: system and instruction + "\\n" + input make the prompt, each answer one assistant turn', () => {
    const d = preference(
      jsonl([
        { instruction: 'Add.', input: '2 and 3', chosen: '5', rejected: '6', system: 'Be exact.' },
        { instruction: 'Say hi.', input: '', chosen: 'Hi!', rejected: 'No.' },
        { instruction: 'Say hi.', chosen: ['Hi!'], rejected: 'No.' },
      ]),
    );
    expect(d.format).toBe('alpaca-preference');
    expect(d.examples.map((e) => e.example)).toEqual([
      { kind: 'chat', prompt: [msg('system', 'Be exact.'), msg('user', 'Add.\n2 and 3')], chosen: [msg('assistant', '5')], rejected: [msg('assistant', '6')] },
      { kind: 'chat', prompt: [msg('user', 'Say hi.')], chosen: [msg('assistant', 'Hi!')], rejected: [msg('assistant', 'No.')] },
    ]);
    expect(d.errors).toEqual([{ line: 3, message: 'field "chosen" must be a string' }]);
  });

  test('pairwise ShareGPT (dpo_en_demo.json): 300 pairs, the conversation is the prompt, lines of each record', () => {
    const raw = demoJson('dpo_en_demo.json');
    const d = preference(demoBytes('dpo_en_demo.json'), 'dpo_en_demo.json');
    expect(d.format).toBe('sharegpt-preference');
    expect(methodsForFormat(d.format)).toEqual(['dpo']);
    expect([d.examples.length, d.errors.length, d.identical]).toEqual([300, 0, 0]);
    // Record 1 opens with a system turn; record 4 has five turns (human, gpt, human, gpt, human).
    const withSystem = d.examples[1].example;
    expect(withSystem.kind === 'chat' && withSystem.prompt.map((m) => [m.role, m.content])).toEqual([
      ['system', raw[1].conversations[0].value],
      ['user', raw[1].conversations[1].value],
    ]);
    const multi = d.examples[4].example;
    expect(multi.kind === 'chat' && multi.prompt.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    expect(multi.kind === 'chat' && [multi.chosen, multi.rejected]).toEqual([[msg('assistant', raw[4].chosen.value)], [msg('assistant', raw[4].rejected.value)]]);
    const lines = readFileSync(resolve(DATA, 'dpo_en_demo.json'), 'utf8').split('\n');
    expect(d.examples.map((e) => e.line).slice(0, 3)).toEqual([2, 18, 38]);
    expect(lines[d.examples[299].line - 1]).toBe('  {');
  });

  test('pairwise ShareGPT: a system column is prepended, and an answer from the human is refused', () => {
    const conversations = [{ from: 'human', value: 'Hi' }];
    const d = preference(
      jsonl([
        { conversations, chosen: { from: 'gpt', value: 'Hello' }, rejected: { from: 'gpt', value: 'Go.' }, system: 'Be kind.' },
        { conversations, chosen: { from: 'human', value: 'Hello' }, rejected: { from: 'gpt', value: 'Go.' } },
      ]),
    );
    expect(d.examples[0].example).toEqual({ kind: 'chat', prompt: [msg('system', 'Be kind.'), msg('user', 'Hi')], chosen: [msg('assistant', 'Hello')], rejected: [msg('assistant', 'Go.')] });
    expect(d.errors).toEqual([{ line: 2, message: 'field "chosen" must be the assistant\'s answer ("from": "gpt"), not a user message' }]);
  });

  test('v1 (v1_dpo_demo.jsonl): text parts and loss_weight; the shared system and user turns are the prompt', () => {
    const raw = demoBytes('v1_dpo_demo.jsonl');
    const first = JSON.parse(new TextDecoder().decode(raw).split('\n')[0]);
    const d = preference(raw, 'v1_dpo_demo.jsonl');
    expect(d.format).toBe('llamafactory-v1-preference');
    expect([d.examples.length, d.errors.length, d.identical]).toEqual([10, 0, 0]);
    const text = (m: { content: { value: string }[] }) => m.content[0].value;
    expect(d.examples[0]).toEqual({
      line: 1,
      example: {
        kind: 'chat',
        prompt: [
          { role: 'system', content: text(first.chosen_messages[0]), train: false },
          { role: 'user', content: text(first.chosen_messages[1]), train: false },
        ],
        chosen: [{ role: 'assistant', content: text(first.chosen_messages[2]), train: true }],
        rejected: [{ role: 'assistant', content: text(first.rejected_messages[2]), train: true }],
      },
    });
    // The rejected answers of this file start with a space: kept, it is part of the answer.
    const ex = d.examples[0].example;
    expect(ex.kind === 'chat' && ex.rejected[0].content.startsWith(' Abdulah')).toBe(true);
  });

  test('v1 conversations with no shared first turn are a per-line error naming their fields', () => {
    const part = (role: string, value: string) => ({ role, content: [{ type: 'text', value }], loss_weight: role === 'assistant' ? 1 : 0 });
    const d = preference(
      jsonl([
        { chosen_messages: [part('user', 'Q'), part('assistant', 'A')], rejected_messages: [part('user', 'Q'), part('assistant', 'B')] },
        { chosen_messages: [part('user', 'Q'), part('assistant', 'A')], rejected_messages: [part('user', 'R'), part('assistant', 'B')] },
      ]),
    );
    expect(d.examples).toHaveLength(1);
    expect(d.errors).toEqual([{ line: 2, message: expect.stringMatching(/^"chosen_messages" and "rejected_messages" do not start with the same message/) }]);
  });
});

describe('pre-tokenized pairs', () => {
  test('old TRL (*_input_ids) and current TRL (*_ids) names: ids kept exactly, nothing added', () => {
    const out = examples([
      { prompt_input_ids: [1, 40, 41], chosen_input_ids: [50, 2], rejected_input_ids: [60] },
      { prompt_ids: [40], chosen_ids: [50, 51], rejected_ids: [60, 61, 62] },
    ]);
    expect(out).toEqual([
      { kind: 'tokens', prompt: [1, 40, 41], chosen: [50, 2], rejected: [60] },
      { kind: 'tokens', prompt: [40], chosen: [50, 51], rejected: [60, 61, 62] },
    ]);
  });

  test('bad ids are per-line errors naming the column', () => {
    const d = preference(
      jsonl([
        { prompt_input_ids: [1], chosen_input_ids: [2], rejected_input_ids: [3] },
        { prompt_input_ids: [1], chosen_input_ids: [2.5], rejected_input_ids: [3] },
        { prompt_input_ids: [], chosen_input_ids: [2], rejected_input_ids: [3] },
        { prompt_input_ids: [1], chosen_input_ids: [2], rejected_input_ids: [-3] },
      ]),
    );
    expect(d.format).toBe('pre-tokenized-preference');
    expect(d.examples.map((e) => e.line)).toEqual([1]);
    expect(d.errors).toEqual([
      { line: 2, message: 'field "chosen_input_ids" must be a non-empty list of non-negative integers' },
      { line: 3, message: 'field "prompt_input_ids" must be a non-empty list of non-negative integers' },
      { line: 4, message: 'field "rejected_input_ids" must be a non-empty list of non-negative integers' },
    ]);
  });
});

describe('methods and refusals', () => {
  test('methodsForFormat: every preference shape fits the DPO family only; SFT and GRPO shapes say theirs', () => {
    expect(METHOD_FORMATS.dpo).toEqual(['preference', 'pre-tokenized-preference', 'alpaca-preference', 'sharegpt-preference', 'llamafactory-v1-preference']);
    for (const f of METHOD_FORMATS.dpo) expect(methodsForFormat(f), f).toEqual(['dpo']);
    const fits: [DatasetFormat, string[]][] = [
      ['prompt-completion', ['sft', 'grpo']],
      ['alpaca', ['sft']],
      ['unpaired-preference', ['kto']],
      ['prompt-only', ['grpo']],
    ];
    for (const [f, methods] of fits) expect(methodsForFormat(f), f).toEqual(methods);
  });

  test('a preference dataset for SFT: refused as a whole, naming the missing field and the methods it fits', () => {
    expect(refusal(jsonl([{ prompt: 'a', chosen: 'b', rejected: 'c' }]), 'pairs.jsonl', 'sft')).toBe(
      'pairs.jsonl: is a preference ({"prompt"?, "chosen", "rejected"}, as text or message lists) dataset; ' +
        'SFT needs language modeling, prompt-completion, pre-tokenized, Alpaca or ShareGPT records: ' +
        'the nearest, prompt-completion ({"prompt", "completion"}), is missing "completion". This dataset fits DPO, SimPO and ORPO.',
    );
  });

  test('a prompt-completion dataset for DPO: "chosen" and "rejected" are named as missing', () => {
    expect(refusal(jsonl([{ prompt: 'a', completion: 'b' }]), 'train.jsonl', 'dpo')).toBe(
      'train.jsonl: is a prompt-completion ({"prompt", "completion"}) dataset; ' +
        'DPO needs preference, pre-tokenized preference, Alpaca preference, ShareGPT preference or LLaMA-Factory v1 preference records: ' +
        'the nearest, preference ({"prompt"?, "chosen", "rejected"}, as text or message lists), is missing "chosen" and "rejected". This dataset fits SFT and GRPO.',
    );
  });

  test('the nearest shape is named: Alpaca for DPO, ids for SFT, pairs for KTO; a ShareGPT pair for SFT has extra fields', () => {
    expect(refusal(jsonl([{ instruction: 'a', input: '', output: 'b' }]), 'a.jsonl', 'dpo')).toMatch(
      /: the nearest, Alpaca preference \(.*\), is missing "chosen" and "rejected"\. This dataset fits SFT\.$/,
    );
    expect(refusal(jsonl([{ prompt_input_ids: [1], chosen_input_ids: [2], rejected_input_ids: [3] }]), 'ids.jsonl', 'sft')).toMatch(
      /: the nearest, pre-tokenized \(.*\), is missing "input_ids"\. This dataset fits DPO, SimPO and ORPO\.$/,
    );
    expect(refusal(jsonl([{ prompt: 'a', chosen: 'b', rejected: 'c' }]), 'p.jsonl', 'kto')).toMatch(
      /; KTO needs unpaired preference records: the nearest, .*, is missing "completion" and "label"\./,
    );
    expect(refusal(demoBytes('dpo_en_demo.json'), 'dpo_en_demo.json', 'sft')).toMatch(
      /^dpo_en_demo\.json: is a ShareGPT preference \(.*\) dataset; SFT needs .*: these have the fields of ShareGPT \(.*\), but "chosen" and "rejected" make them ShareGPT preference records\. This dataset fits DPO, SimPO and ORPO\.$/,
    );
  });
});
