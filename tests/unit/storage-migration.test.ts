// IndexedDB schema v3: a database written by schema v2 opens (now at the latest version, v4) with every
// record kept, field for field, plus the method v3 adds (datasets and runs saved before v3 are SFT); the
// 'references' store exists and goes with its run; an empty database is created at the latest version
// directly. Each test gets a fresh fake IndexedDB. (v3 -> v4: storage-migration-v4.test.ts.)

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openDB } from 'idb';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { getAdapter } from '../../src/storage/adapters-store';
import { getDataset, listDatasetSummaries, putDataset } from '../../src/storage/datasets-store';
import { DB_NAME, DB_VERSION, openStudioDb, type StudioDb } from '../../src/storage/db';
import { getMeta } from '../../src/storage/meta';
import type { DatasetRecord, ReferenceRecord } from '../../src/storage/records';
import { getReference, putReference } from '../../src/storage/references-store';
import { allRuns, deleteRunData, findRun, getCheckpoint, runRows } from '../../src/storage/runs-store';
import { expectBinaryRecordsKept, LATEST_STORES, storeNames } from '../helpers/studio-db-assert';
import { V2_ADAPTERS, V2_CHECKPOINTS, V2_DATASETS, V2_PROBE, V2_ROWS, V2_RUNS, writeV2Database } from '../helpers/v2-database';

const reference = (runId: string): ReferenceRecord => ({
  runId,
  adapterName: 'stories adapter',
  config: { peft_type: 'LORA', r: 8, lora_alpha: 16 },
  weights: Uint8Array.from([1, 2, 3, 250, 251]),
});

let db: StudioDb | undefined;

beforeEach(() => {
  vi.stubGlobal('indexedDB', new IDBFactory());
});

afterEach(() => {
  db?.close();
  db = undefined;
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('schema v3 migration from a v2 database', () => {
  beforeEach(async () => {
    await writeV2Database();
    db = await openStudioDb();
  });

  test('upgrades to the latest version and adds the references store', () => {
    expect(DB_VERSION).toBe(6);
    expect(db!.version).toBe(6);
    expect(storeNames(db!)).toEqual(LATEST_STORES);
    const tx = db!.transaction('references');
    expect(tx.store.keyPath).toBe('runId');
  });

  test('keeps every dataset field for field and marks it SFT', async () => {
    for (const written of V2_DATASETS) {
      expect(await getDataset(db!, written.id)).toStrictEqual({ ...written, method: 'sft' });
    }
    const summaries = await listDatasetSummaries(db!);
    expect(summaries.map((s) => [s.id, s.method, s.examples])).toEqual([
      ['ds-tokens', 'sft', 2],
      ['ds-qa', 'sft', 2],
      ['ds-stories', 'sft', 3],
    ]);
  });

  test("keeps every run field for field and sets settings.method to 'sft'", async () => {
    const runs = await allRuns(db!);
    expect(runs).toHaveLength(V2_RUNS.length);
    for (const written of V2_RUNS) {
      expect(await findRun(db!, written.id)).toStrictEqual({ ...written, settings: { ...written.settings, method: 'sft' } });
    }
    expect((await findRun(db!, 'run-paused'))?.status).toBe('paused');
  });

  test('keeps metric rows, checkpoints, adapters and meta values unchanged', async () => {
    expect(await runRows(db!, 'run-paused')).toStrictEqual(V2_ROWS.filter((r) => r.runId === 'run-paused'));
    expect(await runRows(db!, 'run-done')).toStrictEqual(V2_ROWS.filter((r) => r.runId === 'run-done'));
    expect(await db!.count('metrics')).toBe(V2_ROWS.length);
    await expectBinaryRecordsKept(db!, V2_CHECKPOINTS, V2_ADAPTERS);
    // The v2 indexes still answer.
    expect((await db!.getAllFromIndex('adapters', 'runId', 'run-paused')).map((a) => a.id)).toEqual(['adapter-1']);
    expect(await db!.countFromIndex('metrics', 'runId', 'run-paused')).toBe(5);
    expect(await getMeta(db!, 'storage-probe')).toStrictEqual(V2_PROBE);
  });

  test("stores a run's reference and deletes it with the run, leaving other runs and the adapters", async () => {
    await putReference(db!, reference('run-paused'));
    expect(await getReference(db!, 'run-paused')).toStrictEqual(reference('run-paused'));
    expect(await getReference(db!, 'run-done')).toBeUndefined();

    await deleteRunData(db!, 'run-paused');
    expect(await getReference(db!, 'run-paused')).toBeUndefined();
    expect(await findRun(db!, 'run-paused')).toBeUndefined();
    expect(await runRows(db!, 'run-paused')).toEqual([]);
    expect(await getCheckpoint(db!, 'run-paused')).toBeUndefined();
    expect(await runRows(db!, 'run-done')).toStrictEqual(V2_ROWS.filter((r) => r.runId === 'run-done'));
    expect(await getCheckpoint(db!, 'run-done')).toStrictEqual(V2_CHECKPOINTS[1]);
    expect((await getAdapter(db!, 'adapter-1')).runId).toBe('run-paused');
  });
});

describe('a schema v3 migration that fails', () => {
  test('leaves the v2 database as it was, and the next open migrates it', async () => {
    await writeV2Database();
    // The second record rewrite fails (as a full disk would), after the first one was written.
    const update = IDBCursor.prototype.update;
    let calls = 0;
    vi.spyOn(IDBCursor.prototype, 'update').mockImplementation(function (this: IDBCursor, value: unknown) {
      if (++calls === 2) throw new DOMException('disk full', 'QuotaExceededError');
      return update.call(this, value);
    });
    await expect(openStudioDb()).rejects.toThrow('Upgrading the saved data to version 6 failed, and nothing was changed: disk full');
    vi.restoreAllMocks();

    const old = await openDB(DB_NAME, 2);
    expect(old.version).toBe(2);
    expect([...old.objectStoreNames]).not.toContain('references');
    expect(await old.getAll('datasets')).toStrictEqual([...V2_DATASETS].sort((a, b) => a.id.localeCompare(b.id)));
    expect(await old.getAll('runs')).toStrictEqual([...V2_RUNS].sort((a, b) => a.id.localeCompare(b.id)));
    old.close();

    db = await openStudioDb();
    expect(db.version).toBe(6);
    expect(await getDataset(db, 'ds-qa')).toStrictEqual({ ...V2_DATASETS[1], method: 'sft' });
  });
});

describe('schema v3 on an empty database', () => {
  test('creates every store of the latest version with its key path and indexes', async () => {
    db = await openStudioDb();
    expect(db.version).toBe(6);
    expect(storeNames(db)).toEqual(LATEST_STORES);
    const tx = db.transaction(['references', 'metrics', 'adapters', 'datasets', 'runs', 'checkpoints']);
    expect(tx.objectStore('references').keyPath).toBe('runId');
    expect(tx.objectStore('metrics').keyPath).toEqual(['runId', 'kind', 'step']);
    expect([...tx.objectStore('metrics').indexNames]).toEqual(['runId']);
    expect([...tx.objectStore('adapters').indexNames]).toEqual(['runId']);
    expect(await db.count('datasets')).toBe(0);
    expect(await db.count('runs')).toBe(0);
  });

  test('holds a preference dataset with its method and identical-pair count', async () => {
    db = await openStudioDb();
    const record: DatasetRecord = {
      id: 'prefs',
      name: 'Preferences',
      source: 'prefs.jsonl',
      createdAt: '2025-04-01T00:00:00.000Z',
      method: 'dpo',
      format: 'preference',
      examples: [
        { line: 1, example: { kind: 'text', prompt: 'Hi', chosen: ' Hello!', rejected: ' Go away.' } },
        {
          line: 2,
          example: {
            kind: 'chat',
            prompt: [{ role: 'user', content: 'Hi', train: false }],
            chosen: [{ role: 'assistant', content: 'Hello!', train: true }],
            rejected: [{ role: 'assistant', content: 'No.', train: true }],
          },
        },
      ],
      identical: 1,
      skipped: [{ line: 3, message: 'field "rejected" must be a string' }],
      split: { evalFraction: 0.5, seed: 1 },
    };
    await putDataset(db, record);
    expect(await getDataset(db, 'prefs')).toStrictEqual(record);
    const [summary] = await listDatasetSummaries(db);
    // A record without a count (saved before the cap) lists its skipped lines' length as the count.
    expect(summary).toStrictEqual({ ...record, examples: 2, skippedCount: 1 });
  });
});
