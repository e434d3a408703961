// IndexedDB schema v5: a database written by schema v4 opens with its records kept (v3's stores and v4's
// evaluation suites) and gains the matmulTunings store, keyed by adapter key; tunings round-trip field for
// field, a second tune of the same adapter replaces the first, another adapter's key misses. Each test
// gets a fresh fake IndexedDB.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openDB, type IDBPDatabase } from 'idb';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { getDataset } from '../../src/storage/datasets-store';
import { DB_NAME, openStudioDb, upgrade, type StudioDb, type UpgradeTx } from '../../src/storage/db';
import { getEvalSuite } from '../../src/storage/eval-suites-store';
import { getMatmulTuning, putMatmulTuning } from '../../src/storage/matmul-tunings-store';
import type { EvalSuiteRecord, MatmulTuningRecord } from '../../src/storage/records';
import { findRun } from '../../src/storage/runs-store';
import { expectBinaryRecordsKept, LATEST_STORES, storeNames } from '../helpers/studio-db-assert';
import { V3_ADAPTERS, V3_CHECKPOINTS, V3_DATASETS, V3_RUNS, writeV3Database } from '../helpers/v3-database';

const SUITE: EvalSuiteRecord = {
  id: 'suite-task',
  name: 'settings',
  kind: 'task',
  origin: { type: 'file', fileName: 'eval.jsonl' },
  createdAt: 1_700_000_000_500,
  options: { generation: { maxNewTokens: 8, stop: [] }, metrics: { exactMatch: true, contains: false, rougeL: false }, perplexity: false },
  items: [{ id: 'line 1', prompt: 'Setting: a foggy farm.\n', reference: 'Once upon a time' }],
  skipped: [],
};

const TUNING: MatmulTuningRecord = {
  adapterKey: 'google / swiftshader / swiftshader-device-subzero- / SwiftShader driver 5.0.0 #0a1b2c3d',
  kernelsVersion: '5e6f7a8b',
  tunedAt: '2026-12-10T10:00:00.000Z',
  profile: 'small',
  budgetS: 15,
  elapsedS: 14.25,
  classes: [
    {
      id: 'f16.large',
      label: 'm ≥ 128, B f16',
      products: [{ m: 256, k: 576, n: 192, transA: false, transB: true }],
      bFormat: 'f16',
      choice: 'quad16x8',
      rule: 'widen+quad16x8',
      candidates: [
        { variant: 'widen+quad16x8', gflops: 0.875 },
        { variant: 'quad16x8', gflops: 1.0725 },
        { variant: 'shared64', gflops: null, note: 'not timed: budget spent' },
      ],
    },
  ],
};

/** Creates the database at version 4 exactly as v4 shipped it (v3's records, then one evaluation suite). */
async function writeV4Database(): Promise<void> {
  await writeV3Database();
  const created: IDBPDatabase = await openDB(DB_NAME, 4, {
    upgrade: (db, oldVersion, _newVersion, tx) => upgrade(db as unknown as StudioDb, oldVersion, 4, tx as unknown as UpgradeTx),
  });
  await created.put('evalSuites', SUITE);
  created.close();
}

let db: StudioDb | undefined;

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  await writeV4Database();
  db = await openStudioDb();
});

afterEach(() => {
  db?.close();
  db = undefined;
  vi.unstubAllGlobals();
});

describe('schema v5 migration from a v4 database', () => {
  test('upgrades to the latest version (v6), adding the matmulTunings store keyed by adapter key', () => {
    expect(db!.version).toBe(6);
    expect(storeNames(db!)).toEqual(LATEST_STORES);
    expect(storeNames(db!)).toContain('matmulTunings');
    expect(db!.transaction('matmulTunings').objectStore('matmulTunings').keyPath).toBe('adapterKey');
  });

  test('keeps every v4 record field for field', async () => {
    for (const written of V3_DATASETS) expect(await getDataset(db!, written.id)).toStrictEqual(written);
    for (const written of V3_RUNS) expect(await findRun(db!, written.id)).toStrictEqual(written);
    await expectBinaryRecordsKept(db!, V3_CHECKPOINTS, V3_ADAPTERS);
    expect(await getEvalSuite(db!, SUITE.id)).toStrictEqual(SUITE);
    expect(await db!.count('matmulTunings')).toBe(0);
  });

  test('a tuning reads back field for field under its adapter key; another key misses; a new tune replaces it', async () => {
    await putMatmulTuning(db!, TUNING);
    expect(await getMatmulTuning(db!, TUNING.adapterKey)).toStrictEqual(TUNING);
    expect(await getMatmulTuning(db!, TUNING.adapterKey.replace('#0a1b2c3d', '#0a1b2c3e'))).toBeUndefined();

    const again: MatmulTuningRecord = { ...TUNING, tunedAt: '2026-12-11T08:30:00.000Z', classes: [{ ...TUNING.classes[0], choice: 'widen+quad16x8' }] };
    await putMatmulTuning(db!, again);
    expect(await db!.count('matmulTunings')).toBe(1);
    expect((await getMatmulTuning(db!, TUNING.adapterKey))?.classes[0].choice).toBe('widen+quad16x8');
    expect((await getMatmulTuning(db!, TUNING.adapterKey))?.tunedAt).toBe('2026-12-11T08:30:00.000Z');
  });
});
