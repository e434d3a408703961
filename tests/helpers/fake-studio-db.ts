// A fresh fake IndexedDB and studio database per test (fake-indexeddb), for worker services and stores tested
// in Node: call inside a describe; `db()` is the open database, `deps` the worker dependencies around it.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, vi } from 'vitest';
import { openStudioDb, type StudioDb } from '../../src/storage/db';
import type { WorkerDeps } from '../../src/worker/worker-deps';

export function useFakeStudioDb(): { db: () => StudioDb; deps: WorkerDeps } {
  let db: StudioDb | undefined;
  const open = () => {
    if (!db) throw new Error('the fake studio database is open only inside a test');
    return db;
  };
  beforeEach(async () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    db = await openStudioDb();
  });
  afterEach(() => {
    db?.close();
    db = undefined;
    vi.unstubAllGlobals();
  });
  return { db: open, deps: { db: async () => open(), models: { active: undefined } } as unknown as WorkerDeps };
}
