// Fuzzing the dataset record readers (issue 14, item 8): seeded mutations of valid JSONL, JSON, CSV and TSV
// datasets of every format the studio imports go through what the Data page's import does (the reader chosen
// by the file's name or first character, format detection, normalisation) and on to the record it would save.
// Each case ends in a valid dataset or a typed refusal (DatasetFileError, DatasetMethodError) within the time
// limit; a valid one keeps at most 100 errors, sorted by line, counts every one and clones as it is stored; a
// "not UTF-8" refusal names the first bad byte (it named a later one for overlong forms and surrogates: see
// dataset-hostile.test.ts). Seeds are made here, with a few lines of the LLaMA-Factory demo and GSM8K files
// from ../shared.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DatasetMethodError } from '../../src/engine/data/detect';
import { KEPT_ERRORS } from '../../src/engine/data/line-errors';
import { DatasetFileError } from '../../src/engine/data/read-records';
import { readDatasetFile } from '../../src/worker/dataset-read';
import { datasetRecord, engineDataset } from '../../src/worker/dataset-records';
import { fuzz } from '../helpers/fuzz';

const SHARED = resolve(__dirname, '../../../shared/assets/datasets');
const enc = (s: string) => new TextEncoder().encode(s);
const jsonl = (records: unknown[]) => enc(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
/** The first `n` lines of a JSONL file in ../shared. */
const sharedLines = (path: string, n: number) => enc(readFileSync(resolve(SHARED, path), 'utf8').split('\n').slice(0, n).join('\n'));

const chat = (user: string, answer: string) => [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: user },
  { role: 'assistant', content: answer },
];

/** Valid files by how the import picks their reader: the name's extension, or (pasted) the first character. */
const SEEDS: Record<string, Uint8Array[]> = {
  'train.jsonl': [
    jsonl([
      { prompt: 'Setting: a foggy farm.\n', completion: 'Once upon a time, on a foggy farm, a cow mooed.' },
      { prompt: 'Setting: a cave.\n', completion: 'Once upon a time, in a cave, a bat slept.' },
      { prompt: 'Setting: a lake.', completion: ' A duck swam.' },
    ]),
    jsonl([{ text: 'Lily ran to the park.' }, { messages: chat('Hi', 'Hello!') }, { text: 'The end. \u00e9\u4e2d\ud83d\ude00' }]),
    jsonl([
      { instruction: 'Add the numbers.', input: '2 and 3', output: '5' },
      { instruction: 'Name a colour.', input: '', output: 'Blue', system: 'Answer in one word.' },
    ]),
    jsonl([
      { conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }], system: 'Be kind.' },
      { conversations: [{ from: 'human', value: 'Two?' }, { from: 'gpt', value: '2' }] },
    ]),
    jsonl([
      { prompt: 'Setting: a cave.\n', chosen: 'Once, in a cave, a bat slept.', rejected: 'Once, in a town, a bat slept.' },
      { chosen: chat('Hi', 'Hello')!, rejected: chat('Hi', 'Go away') },
      { prompt: [{ role: 'user', content: 'Hi' }], chosen: [{ role: 'assistant', content: 'Hello' }], rejected: [{ role: 'assistant', content: 'No' }] },
    ]),
    jsonl([
      { input_ids: [1, 403, 407, 2], completion_mask: [0, 0, 1, 1] },
      { input_ids: [1, 5, 6, 7, 2] },
    ]),
    jsonl([
      { prompt_input_ids: [1, 40, 41], chosen_input_ids: [50, 2], rejected_input_ids: [60] },
      { prompt_ids: [40], chosen_ids: [50, 51], rejected_ids: [60, 61, 62] },
    ]),
    jsonl([
      { prompt: 'This is a story about Sue the cat. Once upon a time,', name: 'Sue', animal: 'cat' },
      { prompt: [{ role: 'user', content: 'Tell a story about Tom the dog.' }], name: 'Tom', animal: 'dog' },
    ]),
    jsonl([
      { prompt: 'Hi', completion: 'Hello', label: true },
      { prompt: 'Hi', completion: 'Go away', label: false },
    ]),
    sharedLines('gsm8k/test.jsonl', 3),
    sharedLines('llamafactory-demo/v1_dpo_demo.jsonl', 1),
    sharedLines('llamafactory-demo/v1_sft_demo.jsonl', 2),
  ],
  'train.json': [
    enc(JSON.stringify(JSON.parse(readFileSync(resolve(SHARED, 'llamafactory-demo/alpaca_en_demo.json'), 'utf8')).slice(0, 3), null, 2)),
    enc(JSON.stringify({ data: [{ text: 'One.' }, { text: 'Two.' }] })),
    enc(JSON.stringify({ prompt: 'Setting: a hill.\n', completion: 'Once, on a hill.' }, null, 2)),
    enc(JSON.stringify(JSON.parse(readFileSync(resolve(SHARED, 'llamafactory-demo/dpo_en_demo.json'), 'utf8')).slice(0, 2))),
  ],
  'train.csv': [
    enc('prompt,completion\n"Setting: a farm.\n","Once upon a time, a cow said ""moo""."\nSetting: a cave.,A bat slept.\n'),
    enc('prompt,chosen,rejected\n"[{""role"": ""user"", ""content"": ""Hi""}]","[{""role"": ""assistant"", ""content"": ""Hello""}]","[{""role"": ""assistant"", ""content"": ""No""}]"\nHi,Hello,Bye\n'),
    enc('input_ids,completion_mask\n"[1, 5, 6, 2]","[0, 1, 1, 1]"\n"[1, 7, 2]",\n'),
    enc('question,answer\nWhat is 2+2?,#### 4\r\nWhat is 3+3?,#### 6\r\n'),
  ],
  'train.tsv': [enc('prompt\tcompletion\nSetting: a farm.\tOnce, a cow.\n"Setting: a\tlake."\tA duck.\n'), enc('text\nOne line.\nTwo lines.\n')],
  'pasted text': [
    enc('[{"text": "Pasted one."}, {"text": "Pasted two."}]'),
    enc('{"prompt": "Hi", "completion": "Hello"}\n{"prompt": "Bye", "completion": "Goodbye"}\n'),
    enc('text,label\nA line.,true\n'),
    enc('messages\n"[{""role"": ""user"", ""content"": ""Hi""}, {""role"": ""assistant"", ""content"": ""Hello""}]"\n'),
  ],
};

const isRefusal = (err: unknown) => err instanceof DatasetFileError || err instanceof DatasetMethodError;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A "not UTF-8" refusal names the first bad byte: everything before it decodes, and the 4 bytes from it do not. */
function expectFirstBadByte(err: DatasetFileError, bytes: Uint8Array): void {
  const named = /invalid byte 0x[0-9a-f]{2} at offset (\d+)/.exec(err.message);
  if (!named) return;
  const at = Number(named[1]);
  expect(() => strictUtf8.decode(bytes.subarray(0, at)), err.message).not.toThrow();
  expect(() => strictUtf8.decode(bytes.subarray(0, at + 4)), err.message).toThrow();
}

/** The Data page's import of `bytes` named `name`, through to the record it saves and back. */
function importAndSave(bytes: Uint8Array, name: string): void {
  let imported: ReturnType<typeof readDatasetFile>;
  try {
    imported = readDatasetFile(bytes, name);
  } catch (err) {
    if (err instanceof DatasetFileError) expectFirstBadByte(err, bytes);
    throw err;
  }
  const { examples, errors, errorCount } = imported.dataset;
  expect(examples.length).toBeGreaterThan(0);
  expect(errors.length).toBeLessThanOrEqual(KEPT_ERRORS);
  expect(errorCount).toBeGreaterThanOrEqual(errors.length);
  expect(errors.every((e, i) => i === 0 || errors[i - 1].line <= e.line)).toBe(true);
  const record = datasetRecord({ id: 'd', name: 'fuzzed', source: name, createdAt: '', split: { evalFraction: 0, seed: 0 } }, imported);
  expect(engineDataset(structuredClone(record)).dataset.examples).toHaveLength(examples.length);
}

describe('dataset record readers under seeded mutation', () => {
  test('every mutated file is imported or refused with a typed error, each within 500 ms', async () => {
    // About 4,000 cases in all, shared out by the number of seeds of each reader.
    const perSeed = 150;
    const summaries: Record<string, { cases: number; accepted: number; refused: number; slowestMs: number }> = {};
    for (const [index, [name, seeds]] of Object.entries(SEEDS).entries()) {
      summaries[name] = await fuzz(seeds, (bytes) => importAndSave(bytes, name), {
        seed: 1400 + index,
        cases: perSeed * seeds.length,
        caseLimitMs: 500,
        isRefusal,
      });
    }
    for (const [name, s] of Object.entries(summaries)) {
      // Mutations that keep a file usable and ones that break it are both reached.
      expect(s.accepted, name).toBeGreaterThan(0);
      expect(s.refused, name).toBeGreaterThan(0);
    }
  }, 60_000);
});
