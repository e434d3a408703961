// Pre-tokenized data with a token id beyond the model's vocabulary is refused when the dataset meets the
// model, before any training step: the studio imports it (no model is known then) and refuses it when a run
// is prepared (split and tokenized, before the run is stored); `tunelab train` refuses it as it reads the file
// (the model is loaded first); the preview names the id per example. stories260K has 512 ids (0 to 511).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadPreferenceData, loadSftData } from '../../src/cli/train-data';
import { Progress } from '../../src/cli/progress';
import { TokenIdRangeError } from '../../src/engine/data/token-ids';
import { datasetRecord } from '../../src/worker/dataset-records';
import { readDatasetFile } from '../../src/worker/dataset-read';
import { previewRecords } from '../../src/worker/dataset-preview';
import { previewPairs } from '../../src/worker/dataset-preview-pairs';
import { prepareRunData } from '../../src/worker/run-data';
import { storiesTokenizer } from '../helpers/stories-tokenizer';

const jsonl = (records: unknown[]) => new TextEncoder().encode(records.map((r) => JSON.stringify(r)).join('\n'));
const HEADER = { id: 'd', name: 'ids', source: 'ids.jsonl', createdAt: '2026-12-01T00:00:00.000Z', split: { evalFraction: 0, seed: 0 } };
const BEYOND = 'beyond the vocabulary of this model (512 ids, 0 to 511): pre-tokenized data must be tokenized with the tokenizer of the model it trains';

const sftRecords = (bad: number) => [
  { input_ids: [1, 403, 407, 2] },
  { input_ids: [1, 511, 2] },
  { input_ids: [1, 20, bad, 2], completion_mask: [0, 0, 1, 1] },
];
const pairRecords = (bad: number) => [
  { prompt_ids: [1, 40], chosen_ids: [50, 2], rejected_ids: [60, 2] },
  { prompt_ids: [1, 41], chosen_ids: [50, bad, 2], rejected_ids: [61, 2] },
];

describe('the studio: imported without a model, refused when a run is prepared for one', () => {
  const tokenizer = storiesTokenizer();

  test('SFT input_ids: the import keeps every line; the run names the line, the field, the id and the vocabulary', () => {
    const imported = readDatasetFile(jsonl(sftRecords(512)), 'ids.jsonl');
    expect(imported.dataset.examples).toHaveLength(3);
    expect(imported.dataset.errorCount).toBe(0);
    const record = datasetRecord(HEADER, imported);
    const prepare = () => prepareRunData(record, tokenizer, { method: 'sft', maxLength: 64, completionOnly: true });
    expect(prepare).toThrow(TokenIdRangeError);
    expect(prepare).toThrow(`ids: line 3: input_ids[2] is token id 512, ${BEYOND}`);
  });

  test('the last id of the vocabulary is accepted', () => {
    const record = datasetRecord(HEADER, readDatasetFile(jsonl(sftRecords(511)), 'ids.jsonl'));
    const data = prepareRunData(record, tokenizer, { method: 'sft', maxLength: 64, completionOnly: true });
    expect(data.train).toHaveLength(3);
  });

  test('preference pairs: the chosen ids of line 2', () => {
    const record = datasetRecord(HEADER, readDatasetFile(jsonl(pairRecords(100_000)), 'pairs.jsonl'));
    expect(() => prepareRunData(record, tokenizer, { method: 'dpo', maxLength: 64, completionOnly: true })).toThrow(
      `ids: line 2: chosen ids[1] is token id 100000, ${BEYOND}`,
    );
  });

  test('the preview shows the refusal on the example itself', () => {
    const sft = readDatasetFile(jsonl(sftRecords(512)), 'ids.jsonl');
    if (sft.method !== 'sft') throw new Error('expected SFT');
    const previews = previewRecords(sft.dataset.examples, 'pre-tokenized', tokenizer, 64);
    expect(previews.map((p) => p.error)).toEqual([undefined, undefined, `input_ids[2] is token id 512, ${BEYOND}`]);
    const pairs = readDatasetFile(jsonl(pairRecords(512)), 'pairs.jsonl');
    if (pairs.method !== 'dpo') throw new Error('expected pairs');
    expect(previewPairs(pairs.dataset.examples, 'pre-tokenized-preference', tokenizer, 64)[1].error).toBe(`chosen ids[1] is token id 512, ${BEYOND}`);
  });
});

describe('tunelab train: refused as the file is read, the model being loaded first', () => {
  let dir: string;
  const progress = new Progress({ write: () => true }, true);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tunelab-ids-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('SFT and preference files name the file, the line, the field and the id', async () => {
    const sft = join(dir, 'sft.jsonl');
    await writeFile(sft, jsonl(sftRecords(4096)));
    await expect(loadSftData(sft, storiesTokenizer(), { maxLength: 64, completionOnly: true }, progress)).rejects.toThrow(
      `${sft}: line 3: input_ids[2] is token id 4096, ${BEYOND}`,
    );
    const pairs = join(dir, 'pairs.jsonl');
    await writeFile(pairs, jsonl(pairRecords(512)));
    await expect(loadPreferenceData(pairs, storiesTokenizer(), { maxLength: 64, maxPromptLength: 32 }, progress)).rejects.toThrow(
      `${pairs}: line 2: chosen ids[1] is token id 512, ${BEYOND}`,
    );
  });
});
