// A newer Tunelab in another tab upgrading the database under this one (fake IndexedDB): this tab's
// connection closes at once so the other tab's upgrade is not blocked, the worker hears it once and
// refuses every later storage call with "reload to continue"; a database already newer than this code
// gives the same message instead of the browser's VersionError. Each test gets a fresh fake IndexedDB.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openDB } from 'idb';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { DB_NAME, DB_VERSION, openStudioDb, StorageUpgradedError } from '../../src/storage/db';
import { getMeta, putMeta } from '../../src/storage/meta';
import { StudioDbConnection } from '../../src/worker/worker-deps';

const RELOAD = 'Tunelab was updated in another tab — reload to continue.';
const PROBE = { token: 'before-upgrade', writtenAt: '2026-01-01T00:00:00.000Z' };

/** What a newer Tunelab's first open does: upgrade to the next version, adding a store, keeping the rest. */
async function openAsNewerTab(): Promise<{ blocked: boolean; version: number; probe: unknown }> {
  let blocked = false;
  const newer = await openDB(DB_NAME, DB_VERSION + 1, {
    upgrade: (db) => void db.createObjectStore('fromTheFuture'),
    blocked: () => (blocked = true),
  });
  const result = { blocked, version: newer.version, probe: await newer.get('meta', 'storage-probe') };
  newer.close();
  return result;
}

beforeEach(() => {
  vi.stubGlobal('indexedDB', new IDBFactory());
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the database upgraded by another tab', () => {
  test('this tab closes its connection at once (the upgrade is not blocked), hears it once, and refuses later calls with the reload message', async () => {
    const connection = new StudioDbConnection();
    const db = await connection.get();
    await putMeta(db, 'storage-probe', PROBE);
    let heard = 0;
    void connection.upgraded.then(() => heard++);

    const newer = await openAsNewerTab();
    expect(newer).toEqual({ blocked: false, version: DB_VERSION + 1, probe: PROBE });
    await connection.upgraded;
    expect(heard).toBe(1);
    // The old connection is closed: nothing more can be written through it.
    expect(() => db.transaction('meta')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    // Every later call is refused with the message, without reopening (which would fail with VersionError).
    await expect(connection.get()).rejects.toThrow(new StorageUpgradedError());
    await expect(connection.get()).rejects.toThrow(RELOAD);
    expect(heard).toBe(1);
  });

  test('opening a database a newer Tunelab already upgraded says to reload, and the worker hears it as an upgrade', async () => {
    const current = await openStudioDb();
    await putMeta(current, 'storage-probe', PROBE);
    current.close();
    expect(await openAsNewerTab()).toEqual({ blocked: false, version: DB_VERSION + 1, probe: PROBE });
    await expect(openStudioDb()).rejects.toThrow(RELOAD);
    await expect(openStudioDb()).rejects.toMatchObject({ name: 'StorageUpgradedError' });
    const connection = new StudioDbConnection();
    let heard = false;
    void connection.upgraded.then(() => (heard = true));
    await expect(connection.get()).rejects.toThrow(RELOAD);
    await connection.upgraded;
    expect(heard).toBe(true);
  });

  test('an open that fails for another reason is retried on the next call, and is not an upgrade', async () => {
    vi.stubGlobal('indexedDB', undefined);
    const connection = new StudioDbConnection();
    await expect(connection.get()).rejects.toThrow('IndexedDB is not available here');
    vi.stubGlobal('indexedDB', new IDBFactory());
    const db = await connection.get();
    await putMeta(db, 'storage-probe', PROBE);
    expect(await getMeta(db, 'storage-probe')).toEqual(PROBE);
    const settled = await Promise.race([connection.upgraded.then(() => 'upgraded'), new Promise((r) => setTimeout(() => r('not upgraded'), 20))]);
    expect(settled).toBe('not upgraded');
    db.close();
  });
});
