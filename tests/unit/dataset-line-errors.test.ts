// Per-line errors of a dataset are capped: the first 100 by line are kept with the count of them all, in the
// draft the worker sends to the page and in the record IndexedDB stores. A file of a million bad lines (made
// here) sends and stores 100 errors and the count; a dataset saved before the cap (every skipped line, no
// count) lists as its first 100 and their count; the page's line says "first 100 of N errors".

import { describe, expect, test } from 'vitest';
import { parseCsv } from '../../src/engine/data/csv';
import { detectDataset } from '../../src/engine/data/detect';
import { ErrorTally, KEPT_ERRORS } from '../../src/engine/data/line-errors';
import { parseRecords } from '../../src/engine/data/read-records';
import { toSftDataset } from '../../src/engine/data/sft-examples';
import { getDataset, KEPT_SKIPPED_LINES, listDatasetSummaries, putDataset } from '../../src/storage/datasets-store';
import type { DatasetRecord } from '../../src/storage/records';
import { keptErrorsText } from '../../src/ui/data/dataset-labels';
import { createDatasetsService } from '../../src/worker/datasets-service';
import { useFakeStudioDb } from '../helpers/fake-studio-db';

const enc = (s: string) => new TextEncoder().encode(s);

describe('ErrorTally', () => {
  test('keeps the first errors by line whatever order they come in, and counts every one', () => {
    const tally = new ErrorTally(undefined, 3);
    for (const line of [9, 4, 7, 1, 8, 2]) tally.add({ line, message: `bad ${line}` });
    expect(tally.result()).toEqual({ errors: [1, 2, 4].map((line) => ({ line, message: `bad ${line}` })), errorCount: 6 });
  });

  test("a later stage starts from an earlier one's kept errors and count", () => {
    const earlier = { errors: [{ line: 2, message: 'not JSON' }], errorCount: 250 };
    const tally = new ErrorTally(earlier, 2);
    tally.add({ line: 1, message: 'wrong fields' });
    tally.add({ line: 3, message: 'wrong fields' });
    expect(tally.result()).toEqual({ errors: [{ line: 1, message: 'wrong fields' }, { line: 2, message: 'not JSON' }], errorCount: 252 });
  });
});

describe('the readers keep the first 100 errors of a file and count the rest', () => {
  test('JSONL: 150 broken lines and 150 of the wrong fields, interleaved', () => {
    const lines = Array.from({ length: 301 }, (_, i) => (i === 300 ? '{"text": "fine"}' : i % 2 === 0 ? '{"text": ' : '{"other": 1}'));
    const sft = toSftDataset(detectDataset(parseRecords(enc(lines.join('\n')), 'mixed.jsonl')));
    expect(sft.examples).toHaveLength(1);
    expect(sft.errorCount).toBe(300);
    expect(sft.errors).toHaveLength(KEPT_ERRORS);
    expect(sft.errors.map((e) => e.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(sft.errors[0].message).toMatch(/^not valid JSON/);
    expect(sft.errors[1].message).toBe('has fields "other", expected language modeling ({"text"} or {"messages"})');
  });

  test('CSV: 250 rows with a field too many', () => {
    const rows = ['prompt,completion', 'Setting: a farm.,Once upon a time', ...Array.from({ length: 250 }, (_, i) => `p${i},c${i},extra`)];
    const parsed = parseCsv(rows.join('\n'), 'rows.csv');
    expect(parsed.records).toHaveLength(1);
    expect(parsed.errorCount).toBe(250);
    expect(parsed.errors).toHaveLength(100);
    expect(parsed.errors[0]).toEqual({ line: 3, message: 'has 3 fields, the header has 2 (a field holding "," must be in double quotes)' });
    expect(parsed.errors.at(-1)!.line).toBe(102);
  });
});

describe('a million bad lines through the Data page worker', () => {
  const { db: openDb, deps } = useFakeStudioDb();

  test('the draft sent to the page and the record stored hold the first 100 errors and the count of 1,000,000', async () => {
    const service = createDatasetsService(deps);
    // Every line bad: half not JSON, half JSON with no field SFT reads; two good lines at the end.
    const bad = Array.from({ length: 1_000_000 }, (_, i) => (i % 2 === 0 ? '{"text"' : '{"x":1}'));
    const text = [...bad, '{"text": "Once upon a time."}', '{"text": "The end."}'].join('\n');
    const draft = await service.readDataset({ text, name: 'million.jsonl' });
    expect(draft.examples).toBe(2);
    expect(draft.errorCount).toBe(1_000_000);
    expect(draft.errors).toHaveLength(100);
    expect(draft.errors.map((e) => e.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // What crosses to the page is small: the draft's JSON is a few kilobytes, not a million errors.
    expect(JSON.stringify(draft).length).toBeLessThan(20_000);
    expect(keptErrorsText(draft.errors.length, draft.errorCount)).toBe('first 100 of 1,000,000 errors');

    const summary = await service.saveDataset(draft.draftId, 'million', { evalFraction: 0, seed: 0 });
    expect(summary).toMatchObject({ examples: 2, skippedCount: 1_000_000 });
    expect(summary.skipped).toHaveLength(100);
    const stored = await getDataset(openDb(), summary.id);
    expect(stored.skipped).toEqual(draft.errors);
    expect(stored.skippedCount).toBe(1_000_000);
    expect(stored.examples).toHaveLength(2);
  }, 60_000);

  test('a dataset saved before the cap (every skipped line, no count) lists as its first 100 and their count', async () => {
    const old: DatasetRecord = {
      id: 'old',
      name: 'before the cap',
      source: 'old.jsonl',
      createdAt: '2026-01-01T00:00:00.000Z',
      method: 'sft',
      format: 'language-modeling',
      skipped: Array.from({ length: 250 }, (_, i) => ({ line: i + 2, message: 'not valid JSON' })),
      examples: [{ line: 1, example: { kind: 'text', text: 'Once upon a time.' } }],
      split: { evalFraction: 0, seed: 0 },
    };
    await putDataset(openDb(), old);
    const [summary] = await listDatasetSummaries(openDb());
    expect(summary.skippedCount).toBe(250);
    expect(summary.skipped).toEqual(old.skipped.slice(0, KEPT_SKIPPED_LINES));
    // Nothing saved is rewritten: the record reads back as it was written.
    expect(await getDataset(openDb(), 'old')).toEqual(old);
  });
});
