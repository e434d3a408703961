// The Data page's import on the worker side, for both families: a file read with no method in mind becomes
// a draft that says its format, the methods it fits and its counts (usable records, bad lines, pairs skipped
// because chosen equals rejected); a format no studio method trains (KTO's) and a file of identical pairs are
// refused with a message that says why; a draft saved as a record reads back as the same engine dataset.
// The sample files and the LLaMA-Factory demo are read at test time.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fitsText, formatFit, recordCount } from '../../src/ui/data/dataset-labels';
import { DraftStore } from '../../src/worker/dataset-drafts';
import { readDatasetFile } from '../../src/worker/dataset-read';
import { datasetRecord, engineDataset } from '../../src/worker/dataset-records';

const STORIES_PREFERENCE = resolve(__dirname, '../../public/datasets/stories-preference/train.jsonl');
const STORIES_SETTING = resolve(__dirname, '../../public/datasets/stories-setting/train.jsonl');
const DPO_EN_DEMO = resolve(__dirname, '../../../shared/assets/datasets/llamafactory-demo/dpo_en_demo.json');

const enc = (s: string) => new TextEncoder().encode(s);
const jsonl = (records: unknown[]) => enc(records.map((r) => JSON.stringify(r)).join('\n'));
const fileBytes = (path: string) => new Uint8Array(readFileSync(path));
const lineCount = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).length;

function draftOf(bytes: Uint8Array, name: string) {
  return new DraftStore().add(name, readDatasetFile(bytes, name));
}

const HEADER = { id: 'd1', name: 'pairs', source: 'pairs.jsonl', createdAt: '2026-12-01T00:00:00.000Z', split: { evalFraction: 0.1, seed: 3 } };

describe('drafts of both families', () => {
  test('the SFT sample: prompt-completion, fits SFT and GRPO, every line usable', () => {
    const draft = draftOf(fileBytes(STORIES_SETTING), 'train.jsonl');
    expect(draft).toMatchObject({ source: 'train.jsonl', format: 'prompt-completion', method: 'sft', methods: ['sft', 'grpo'], errors: [], identical: 0, rewardFields: [] });
    expect(draft.examples).toBe(lineCount(STORIES_SETTING));
    expect(draft.examples).toBe(468);
  });

  test('the preference sample: 468 TRL pairs, fits DPO, SimPO and ORPO', () => {
    const draft = draftOf(fileBytes(STORIES_PREFERENCE), 'train.jsonl');
    expect(draft).toMatchObject({ format: 'preference', method: 'dpo', methods: ['dpo'], examples: 468, errors: [], identical: 0 });
  });

  test("LLaMA-Factory's dpo_en_demo.json: 300 ShareGPT preference pairs", () => {
    const draft = draftOf(fileBytes(DPO_EN_DEMO), 'dpo_en_demo.json');
    expect(draft).toMatchObject({ format: 'sharegpt-preference', method: 'dpo', methods: ['dpo'], examples: 300, errors: [], identical: 0 });
  });

  test('a pair whose chosen equals rejected is counted and skipped, a bad line is an error with its line', () => {
    const bytes = jsonl([
      { prompt: 'Setting: a cave.\n', chosen: 'Once, in a cave, a bat slept.', rejected: 'Once, in a forest, a bat slept.' },
      { prompt: 'Setting: a lake.\n', chosen: 'Once, by a lake.', rejected: 'Once, by a lake.' },
      { prompt: 'Setting: a farm.\n', chosen: 7, rejected: 'Once, on a farm.' },
      { prompt: 'Setting: a hill.\n', chosen: 'Once, on a hill.', rejected: 'Once, in a town.' },
    ]);
    const draft = draftOf(bytes, 'pairs.jsonl');
    expect(draft).toMatchObject({ format: 'preference', method: 'dpo', examples: 2, identical: 1 });
    expect(draft.errors).toEqual([{ line: 3, message: 'field "chosen" must be a string or a list of messages' }]);
  });

  test('a file of identical pairs only has nothing usable, and says so', () => {
    const same = { prompt: 'Setting: a lake.\n', chosen: 'Once, by a lake.', rejected: 'Once, by a lake.' };
    expect(() => readDatasetFile(jsonl([same, same]), 'same.jsonl')).toThrow(
      'same.jsonl: has no usable preference records (2 pairs whose chosen answer equals the rejected one)',
    );
  });

  test('a format no studio method trains is refused, naming the missing fields and the method it fits', () => {
    expect(() => readDatasetFile(jsonl([{ prompt: 'a', completion: 'b', label: true }]), 'kto.jsonl')).toThrow(
      /^kto\.jsonl: is an unpaired preference .* This dataset fits KTO\. The studio does not train that yet;/,
    );
  });

  test('prompt-only records are GRPO prompts (tests/unit/grpo-dataset-import.test.ts reads them in full)', () => {
    expect(draftOf(jsonl([{ prompt: 'Setting: a cave.\n' }]), 'prompts.jsonl')).toMatchObject({ format: 'prompt-only', method: 'grpo', methods: ['grpo'], examples: 1 });
  });
});

describe('saved records', () => {
  test('a preference draft saves as method dpo with its pairs, skipped lines and identical count, and reads back the same', () => {
    const bytes = jsonl([
      { chosen: 'Once upon a time, in a cave.', rejected: 'Once upon a time, in a town.' },
      { chosen: 'Same.', rejected: 'Same.' },
      { chosen: 'x' },
    ]);
    const imported = readDatasetFile(bytes, 'pairs.jsonl');
    const record = datasetRecord(HEADER, imported);
    expect(record).toMatchObject({ ...HEADER, method: 'dpo', format: 'preference', identical: 1 });
    expect(record.skipped.map((e) => e.line)).toEqual([3]);
    expect(record.skippedCount).toBe(1);
    // The implicit prompt is extracted at import (TRL's extract_prompt): the space goes to the answers.
    expect(record.examples).toEqual([{ line: 1, example: { kind: 'text', prompt: 'Once upon a time, in a', chosen: ' cave.', rejected: ' town.' } }]);
    const back = engineDataset(record);
    expect(back.method).toBe('dpo');
    expect(back.dataset).toEqual({ file: 'pairs', format: 'preference', examples: record.examples, errors: [], errorCount: 0, identical: 1 });
  });

  test('an SFT draft saves as method sft; a record whose format does not fit its method is refused', () => {
    const record = datasetRecord(HEADER, readDatasetFile(enc('{"text": "one"}\n{"text": "two"}\n'), 'lm.jsonl'));
    expect(record).toMatchObject({ method: 'sft', format: 'language-modeling', skipped: [] });
    expect(record.examples.map((e) => e.example)).toEqual([
      { kind: 'text', text: 'one' },
      { kind: 'text', text: 'two' },
    ]);
    expect(engineDataset(record).dataset.examples).toBe(record.examples);
    expect(() => engineDataset({ ...record, format: 'preference' })).toThrow(
      new Error('The dataset "pairs" is stored as SFT data but its format, preference, does not fit that method.'),
    );
    expect(() => engineDataset({ ...record, format: 'future-format' })).toThrow(/saved as future-format data, which this version of Tunelab cannot read/);
  });
});

describe('how the page names a dataset', () => {
  test('format and methods, the studio methods first and those to come after', () => {
    expect(formatFit('preference')).toBe('Preference pairs (prompt, chosen, rejected): fits DPO, SimPO and ORPO');
    expect(formatFit('prompt-completion')).toBe('Prompt-completion: fits SFT and GRPO');
    expect(formatFit('sharegpt-preference')).toBe('ShareGPT preference pairs (conversations, chosen, rejected): fits DPO, SimPO and ORPO');
    expect(fitsText(['kto'])).toBe('fits KTO, coming');
    expect(formatFit('future-format')).toBe('future-format');
    expect([recordCount('dpo', 468), recordCount('sft', 1)]).toEqual(['468 pairs', '1 example']);
  });
});
