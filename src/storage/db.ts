// The studio's IndexedDB database: one typed schema, one version number, and an ordered list of
// migrations. To add a store (datasets, runs, checkpoints, adapters, model cache): extend StudioSchema,
// append a migration, and bump nothing else — DB_VERSION follows the list.

import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { MetaValues } from './meta-values';
import type { AdapterRecord, CheckpointRecord, DatasetRecord, MetricRow, RunRecord } from './records';

export const DB_NAME = 'tunelab';

export interface StudioSchema extends DBSchema {
  /** Small key-value records: settings, probes, bookkeeping. Keys are out of line. */
  meta: {
    key: keyof MetaValues & string;
    value: MetaValues[keyof MetaValues];
  };
  datasets: { key: string; value: DatasetRecord };
  runs: { key: string; value: RunRecord };
  /** Key [runId, kind, step]: a run's rows come back in step order per kind. */
  metrics: { key: [string, string, number]; value: MetricRow; indexes: { runId: string } };
  /** The latest checkpoint of each run (key runId). */
  checkpoints: { key: string; value: CheckpointRecord };
  adapters: { key: string; value: AdapterRecord; indexes: { runId: string } };
}

export type StudioDb = IDBPDatabase<StudioSchema>;

type UpgradeTx = IDBPTransaction<StudioSchema, StoreNames<StudioSchema>[], 'versionchange'>;
type Migration = (db: StudioDb, tx: UpgradeTx) => void;

/** migrations[i] upgrades a database from version i to version i + 1. Never edit one that has shipped. */
const migrations: readonly Migration[] = [
  // 0 -> 1: the key-value store.
  (db) => {
    db.createObjectStore('meta');
  },
  // 1 -> 2: datasets, training runs with their metrics and checkpoints, adapters.
  (db) => {
    db.createObjectStore('datasets', { keyPath: 'id' });
    db.createObjectStore('runs', { keyPath: 'id' });
    db.createObjectStore('metrics', { keyPath: ['runId', 'kind', 'step'] }).createIndex('runId', 'runId');
    db.createObjectStore('checkpoints', { keyPath: 'runId' });
    db.createObjectStore('adapters', { keyPath: 'id' }).createIndex('runId', 'runId');
  },
];

export const DB_VERSION = migrations.length;

export function upgrade(db: StudioDb, oldVersion: number, newVersion: number, tx: UpgradeTx): void {
  for (let v = oldVersion; v < newVersion; v++) migrations[v](db, tx);
}

export class StorageBlockedError extends Error {
  override name = 'StorageBlockedError';
}

/**
 * Opens (creating or upgrading) the database. If another tab holds an older version open, the upgrade
 * waits for it: this rejects with StorageBlockedError instead of hanging. A tab whose connection blocks
 * a newer tab's upgrade closes it.
 */
export function openStudioDb(): Promise<StudioDb> {
  if (!globalThis.indexedDB) {
    return Promise.reject(new Error('IndexedDB is not available here (private browsing, or storage blocked for this site).'));
  }
  return new Promise<StudioDb>((resolve, reject) => {
    let blocked = false;
    openDB<StudioSchema>(DB_NAME, DB_VERSION, {
      upgrade: (db, oldVersion, newVersion, tx) => upgrade(db, oldVersion, newVersion ?? DB_VERSION, tx),
      blocked: () => {
        blocked = true;
        reject(new StorageBlockedError('Another Tunelab tab uses an older database version: close it and reload.'));
      },
      blocking(_current, _next, event) {
        (event.target as IDBDatabase).close();
      },
    }).then(
      (db) => (blocked ? db.close() : resolve(db)),
      (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
    );
  });
}
