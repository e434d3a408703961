// Per-line errors of an evaluation suite file are capped as a dataset's are: the first 100 by line kept with
// the count of them all, in the draft the worker sends to the page, in the record IndexedDB stores and in
// what the CLI's reader returns. A suite file of 100,000 bad lines (made here) sends and stores 100 errors
// and the count; a suite saved before the cap (every skipped line, no count) lists as its first 100 and their
// count; the page's line says "first 100 of N errors".

import { describe, expect, test } from 'vitest';
import { readSuiteFile } from '../../src/engine/eval/suite-file';
import { getEvalSuite, listEvalSuites, putEvalSuite } from '../../src/storage/eval-suites-store';
import type { EvalSuiteRecord } from '../../src/storage/records';
import { keptErrorsText } from '../../src/ui/data/dataset-labels';
import { readSuiteFiles } from '../../src/worker/eval-suite-read';
import { engineSuite } from '../../src/worker/eval-suite-records';
import { createEvalSuitesService } from '../../src/worker/eval-suites-service';
import { useFakeStudioDb } from '../helpers/fake-studio-db';

const BAD = 100_000;
/** Two good task lines, then BAD bad ones: half not JSON, half a task without its reference. */
function hostileSuite(): string {
  const bad = Array.from({ length: BAD }, (_, i) => (i % 2 === 0 ? '{"prompt"' : '{"prompt": "no reference"}'));
  return ['{"prompt": "2+2=", "reference": "4"}', '{"prompt": "3+3=", "reference": "6"}', ...bad].join('\n');
}
const firstLines = Array.from({ length: 100 }, (_, i) => i + 3);

describe('a suite file of 100,000 bad lines', () => {
  const { db: openDb, deps } = useFakeStudioDb();

  test('the draft sent to the page and the record stored hold the first 100 errors and the count', async () => {
    const service = createEvalSuitesService(deps);
    const draft = await service.readSuite([new File([hostileSuite()], 'mine.jsonl')], 'auto');
    expect([draft.kind, draft.items]).toEqual(['task', 2]);
    expect(draft.errorCount).toBe(BAD);
    expect(draft.errors).toHaveLength(100);
    expect(draft.errors.map((e) => e.line)).toEqual(firstLines);
    expect(draft.errors[0]).toMatchObject({ file: 'mine.jsonl', line: 3 });
    expect(draft.errors[0].message).toMatch(/not valid JSON/);
    expect(draft.errors[1].message).toContain('reference');
    // What crosses to the page is small: a few kilobytes, not 100,000 errors.
    expect(JSON.stringify(draft).length).toBeLessThan(20_000);
    expect(keptErrorsText(draft.errors.length, draft.errorCount)).toBe('first 100 of 100,000 errors');

    const task = { maxNewTokens: 16, stop: [], metrics: { exactMatch: true, contains: true, rougeL: true }, perplexity: false };
    const summary = await service.saveSuite(draft.draftId, 'mine', task);
    expect(summary).toMatchObject({ items: 2, skippedCount: BAD });
    expect(summary.skipped).toHaveLength(100);
    const stored = await getEvalSuite(openDb(), summary.id);
    expect(stored.skipped.map((e) => e.line)).toEqual(firstLines);
    expect(stored.skipped[0].message).toMatch(/^mine\.jsonl: .*not valid JSON/);
    expect(stored.skippedCount).toBe(BAD);
    expect(stored.items).toHaveLength(2);
    // The engine's spec of an evaluation carries neither list nor count.
    expect(engineSuite(stored, { shots: 0, seed: 1 }).spec).not.toHaveProperty('skippedCount');
  }, 60_000);

  test('the reader keeps the first 100 by file and line, a train file after the evaluated one', () => {
    const mc = (i: number) => JSON.stringify({ query: `q${i}`, choices: ['a', 'b'], gold: 0 });
    const evalText = [mc(1), ...Array.from({ length: 60 }, () => '{"query"')].join('\n');
    const trainText = [mc(2), ...Array.from({ length: 70 }, () => '{"query"')].join('\n');
    const enc = (s: string) => new TextEncoder().encode(s);
    const read = readSuiteFiles([{ name: 'x-train.jsonl', bytes: enc(trainText) }, { name: 'x-test.jsonl', bytes: enc(evalText) }], 'auto');
    expect(read.errorCount).toBe(130);
    expect(read.errors.map((e) => `${e.file}:${e.line}`)).toEqual([
      ...Array.from({ length: 60 }, (_, i) => `x-test.jsonl:${i + 2}`),
      ...Array.from({ length: 40 }, (_, i) => `x-train.jsonl:${i + 2}`),
    ]);
  });

  test("the CLI's reader returns the first 100 and the count", () => {
    const { suite, errors, errorCount } = readSuiteFile(hostileSuite(), 'mine.jsonl');
    expect(suite.items).toHaveLength(2);
    expect(errorCount).toBe(BAD);
    expect(errors.map((e) => e.line)).toEqual(firstLines);
    expect(errors[1]).toMatchObject({ field: 'reference' });
  });

  test('a suite saved before the cap (every skipped line, no count) lists as its first 100 and their count', async () => {
    const old = {
      id: 'old',
      name: 'before the cap',
      createdAt: 1,
      kind: 'retention',
      origin: { type: 'file', fileName: 'old.jsonl' },
      options: {},
      items: [{ id: '1', text: 'Once upon a time.' }],
      skipped: Array.from({ length: 250 }, (_, i) => ({ line: i + 2, message: 'old.jsonl: not valid JSON' })),
    } as EvalSuiteRecord;
    await putEvalSuite(openDb(), old);
    const [summary] = await listEvalSuites(openDb());
    expect(summary.skippedCount).toBe(250);
    expect(summary.skipped).toEqual(old.skipped.slice(0, 100));
    // Nothing saved is rewritten: the record reads back as it was written.
    expect(await getEvalSuite(openDb(), 'old')).toEqual(old);
  });
});
