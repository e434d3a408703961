// IndexedDB schema v6: a database written by schema v5 opens with every record kept, its checkpoints (one per
// run, keyed runId) moved into the checkpoints store keyed [runId, step] byte for byte, and no trace of the
// v5 store left. Each test gets a fresh fake IndexedDB.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openDB, type IDBPDatabase } from 'idb';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { getDataset } from '../../src/storage/datasets-store';
import { DB_NAME, openStudioDb, upgrade, type StudioDb, type UpgradeTx } from '../../src/storage/db';
import { findRun, runCheckpoints } from '../../src/storage/runs-store';
import { expectBinaryRecordsKept, LATEST_STORES, storeNames } from '../helpers/studio-db-assert';
import { V3_ADAPTERS, V3_CHECKPOINTS, V3_DATASETS, V3_RUNS, writeV3Database } from '../helpers/v3-database';

/** Creates the database at version 5 exactly as v5 shipped it (v3's records; v4 and v5 added empty stores). */
async function writeV5Database(): Promise<void> {
  await writeV3Database();
  const created: IDBPDatabase = await openDB(DB_NAME, 5, {
    upgrade: (db, oldVersion, _newVersion, tx) => upgrade(db as unknown as StudioDb, oldVersion, 5, tx as unknown as UpgradeTx),
  });
  expect(created.transaction('checkpoints').objectStore('checkpoints').keyPath).toBe('runId');
  created.close();
}

let db: StudioDb | undefined;

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  await writeV5Database();
  db = await openStudioDb();
});

afterEach(() => {
  db?.close();
  db = undefined;
  vi.unstubAllGlobals();
});

describe('schema v6 migration from a v5 database', () => {
  test('upgrades to v6: the checkpoints store is keyed [runId, step], and the renamed v5 store is gone', () => {
    expect(db!.version).toBe(6);
    expect(storeNames(db!)).toEqual(LATEST_STORES);
    expect(db!.transaction('checkpoints').objectStore('checkpoints').keyPath).toEqual(['runId', 'step']);
  });

  test('keeps every checkpoint byte for byte under its [runId, step] key, and every other record', async () => {
    expect(await db!.count('checkpoints')).toBe(V3_CHECKPOINTS.length);
    await expectBinaryRecordsKept(db!, V3_CHECKPOINTS, V3_ADAPTERS);
    for (const written of V3_CHECKPOINTS) {
      expect(await db!.get('checkpoints', [written.runId, written.step])).toStrictEqual(written);
      expect(await runCheckpoints(db!, written.runId)).toStrictEqual([written]);
    }
    for (const written of V3_DATASETS) expect(await getDataset(db!, written.id)).toStrictEqual(written);
    for (const written of V3_RUNS) expect(await findRun(db!, written.id)).toStrictEqual(written);
  });
});
