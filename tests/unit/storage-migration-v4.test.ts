// IndexedDB schema v4: a database written by schema v3 opens with every record of every v3 store kept, field
// for field and byte for byte, and gains the evalSuites and evalResults stores; suites round-trip with their
// items by kind, results round-trip with their per-item outcomes and are found by the adapters they
// evaluated (multi-entry index). Each test gets a fresh fake IndexedDB.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { deleteAdapter } from '../../src/storage/adapters-store';
import { getDataset } from '../../src/storage/datasets-store';
import { openStudioDb, type StudioDb } from '../../src/storage/db';
import { deleteEvalResult, getEvalResult, listEvalResults, putEvalResult } from '../../src/storage/eval-results-store';
import { deleteEvalSuite, EvalSuiteNotFoundError, getEvalSuite, listEvalSuites, putEvalSuite } from '../../src/storage/eval-suites-store';
import { getMeta } from '../../src/storage/meta';
import type { EvalResultRecord, EvalSuiteRecord } from '../../src/storage/records';
import { getReference } from '../../src/storage/references-store';
import { allRuns, findRun, runRows } from '../../src/storage/runs-store';
import { expectBinaryRecordsKept, LATEST_STORES, storeNames } from '../helpers/studio-db-assert';
import { V2_PROBE } from '../helpers/v2-database';
import { V3_ADAPTERS, V3_CHECKPOINTS, V3_DATASETS, V3_REFERENCES, V3_ROWS, V3_RUNS, writeV3Database } from '../helpers/v3-database';

const ARC: EvalSuiteRecord = {
  id: 'suite-arc',
  name: 'ARC-Easy',
  kind: 'multiple-choice',
  origin: { type: 'builtin', builtin: 'arc-easy' },
  createdAt: 1_700_000_000_000,
  options: { limit: 2, fewShot: { shots: 0, seed: 1234 }, metrics: ['acc', 'acc_norm'] },
  items: [
    { id: 'Mercury_1', query: 'Question: Which is a gas?\nAnswer:', choices: ['water vapour', 'ice'], gold: 0 },
    { id: 'Mercury_2', query: 'Question: What melts?\nAnswer:', choices: ['ice', 'stone', 'glass'], gold: 0 },
  ],
  fewShotPool: [{ id: 'Mercury_9', query: 'Question: What is hot?\nAnswer:', choices: ['fire', 'snow'], gold: 0 }],
  skipped: [{ line: 4, message: 'field "answerKey" names no choice' }],
};

const TASK: EvalSuiteRecord = {
  id: 'suite-task',
  name: 'settings',
  kind: 'task',
  origin: { type: 'file', fileName: 'eval.jsonl' },
  createdAt: 1_700_000_000_500,
  options: {
    generation: { maxNewTokens: 24, stop: ['\n'] },
    metrics: { exactMatch: true, contains: false, rougeL: true, regex: { pattern: '^Once', flags: '' }, customMetric: { name: 'len', source: '(o) => o.length', timeoutMs: 500 } },
    perplexity: true,
  },
  items: [{ id: 'line 1', prompt: 'Setting: a foggy farm.\n', reference: 'Once upon a time', record: { prompt: 'Setting: a foggy farm.\n', extra: [1, null] } }],
  skipped: [],
};

const RESULT: EvalResultRecord = {
  id: 'eval-1',
  name: 'before and after',
  createdAt: '2025-05-01T00:00:00.000Z',
  model: { kind: 'demo' },
  modelName: 'demo',
  targets: [{ kind: 'base' }, { kind: 'adapter', adapterId: 'adapter-dpo', adapterName: 'dpo adapter' }, { kind: 'adapter', adapterId: 'adapter-1', adapterName: 'stories adapter' }],
  adapterIds: ['adapter-dpo', 'adapter-1'],
  suites: [{ id: 'suite-arc', name: 'ARC-Easy', kind: 'multiple-choice', task: 'arc_easy' }],
  options: { shots: 0, limit: 2, seed: 1234 },
  results: [0, 1, 2].map((target) => ({
    target,
    result: {
      suiteId: 'suite-arc',
      suiteName: 'ARC-Easy',
      kind: 'multiple-choice' as const,
      scores: { 'acc,none': { value: 0.5, stderr: 0.5 }, 'acc_norm,none': { value: target / 2 } },
      items: [
        { id: 'Mercury_1', output: ' water vapour', scores: { 'acc,none': 1, 'acc_norm,none': 1 }, detail: { loglikelihoods: [-1.5, -2.25] } },
        { id: 'Mercury_2', output: ' stone', scores: { 'acc,none': 0, 'acc_norm,none': 0 }, error: undefined },
      ],
      total: 2,
      cancelled: false,
      ms: 12.5,
    },
  })),
  comparisons: [
    { suiteId: 'suite-arc', metric: 'acc,none', target: 1, base: { value: 0.5, stderr: 0.5 }, adapted: { value: 0.5, stderr: 0.5 }, difference: 0, stderr: Math.SQRT1_2, significant: false },
  ],
  forgetting: [],
  status: 'completed',
};

let db: StudioDb | undefined;

beforeEach(() => {
  vi.stubGlobal('indexedDB', new IDBFactory());
});

afterEach(() => {
  db?.close();
  db = undefined;
  vi.unstubAllGlobals();
});

describe('schema v4 migration from a v3 database', () => {
  beforeEach(async () => {
    await writeV3Database();
    db = await openStudioDb();
  });

  test('upgrades to the latest version (v6), adding the evaluation stores with their key paths and index', () => {
    expect(db!.version).toBe(6);
    expect(storeNames(db!)).toEqual(LATEST_STORES);
    const tx = db!.transaction(['evalSuites', 'evalResults']);
    expect(tx.objectStore('evalSuites').keyPath).toBe('id');
    expect(tx.objectStore('evalResults').keyPath).toBe('id');
    const index = tx.objectStore('evalResults').index('adapterIds');
    expect(index.keyPath).toBe('adapterIds');
    expect(index.multiEntry).toBe(true);
  });

  test('keeps every v3 record field for field', async () => {
    for (const written of V3_DATASETS) expect(await getDataset(db!, written.id)).toStrictEqual(written);
    expect(await allRuns(db!)).toHaveLength(V3_RUNS.length);
    for (const written of V3_RUNS) expect(await findRun(db!, written.id)).toStrictEqual(written);
    for (const runId of ['run-paused', 'run-done', 'run-dpo']) {
      expect(await runRows(db!, runId)).toStrictEqual(V3_ROWS.filter((r) => r.runId === runId));
    }
    expect(await db!.count('metrics')).toBe(V3_ROWS.length);
    await expectBinaryRecordsKept(db!, V3_CHECKPOINTS, V3_ADAPTERS);
    const reference = await getReference(db!, 'run-dpo');
    expect(reference).toStrictEqual(V3_REFERENCES[0]);
    expect(Array.from(reference!.weights)).toEqual([1, 2, 3, 250, 251]);
    expect((await db!.getAllFromIndex('adapters', 'runId', 'run-dpo')).map((a) => a.id)).toEqual(['adapter-dpo']);
    expect(await getMeta(db!, 'storage-probe')).toStrictEqual(V2_PROBE);
    expect(await db!.count('evalSuites')).toBe(0);
    expect(await db!.count('evalResults')).toBe(0);
  });

  test('stores suites with their items and lists them as counted summaries in import order', async () => {
    await putEvalSuite(db!, TASK);
    await putEvalSuite(db!, ARC);
    expect(await getEvalSuite(db!, 'suite-arc')).toStrictEqual(ARC);
    expect(await getEvalSuite(db!, 'suite-task')).toStrictEqual(TASK);
    const list = await listEvalSuites(db!);
    expect(list.map((s) => [s.id, s.kind, s.items])).toEqual([
      ['suite-arc', 'multiple-choice', 2],
      ['suite-task', 'task', 1],
    ]);
    const { fewShotPool: _pool, ...arcSpec } = ARC as Extract<EvalSuiteRecord, { kind: 'multiple-choice' }>;
    // The summary counts the skipped lines (a record saved before the cap counts the ones it lists).
    expect(list[0]).toStrictEqual({ ...arcSpec, items: 2, skippedCount: ARC.skipped.length });
    await deleteEvalSuite(db!, 'suite-arc');
    await expect(getEvalSuite(db!, 'suite-arc')).rejects.toBeInstanceOf(EvalSuiteNotFoundError);
    expect((await listEvalSuites(db!)).map((s) => s.id)).toEqual(['suite-task']);
  });

  test('stores a result beside its adapters: found by each, kept when an adapter is deleted', async () => {
    await putEvalResult(db!, RESULT);
    const other: EvalResultRecord = { ...RESULT, id: 'eval-2', createdAt: '2025-05-02T00:00:00.000Z', targets: [{ kind: 'base' }], adapterIds: [], results: [], comparisons: [] };
    await putEvalResult(db!, other);
    const stored = await getEvalResult(db!, 'eval-1');
    expect(stored).toStrictEqual(RESULT);
    expect(stored.results[2].result.items[0].detail).toEqual({ loglikelihoods: [-1.5, -2.25] });

    expect((await listEvalResults(db!)).map((r) => r.id)).toEqual(['eval-2', 'eval-1']);
    expect((await listEvalResults(db!, 'adapter-1')).map((r) => r.id)).toEqual(['eval-1']);
    expect((await listEvalResults(db!, 'adapter-dpo')).map((r) => r.id)).toEqual(['eval-1']);
    expect(await listEvalResults(db!, 'adapter-imported')).toEqual([]);
    // Summaries drop the per-item outcomes and keep the scores.
    const [summary] = await listEvalResults(db!, 'adapter-1');
    expect(summary.results.map((r) => [r.target, 'items' in r.result, r.result.scores['acc_norm,none'].value])).toEqual([
      [0, false, 0],
      [1, false, 0.5],
      [2, false, 1],
    ]);

    await deleteAdapter(db!, 'adapter-1');
    expect((await getEvalResult(db!, 'eval-1')).targets[2]).toEqual({ kind: 'adapter', adapterId: 'adapter-1', adapterName: 'stories adapter' });
    await deleteEvalResult(db!, 'eval-1');
    expect((await listEvalResults(db!)).map((r) => r.id)).toEqual(['eval-2']);
  });
});
