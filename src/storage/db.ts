// The studio's IndexedDB database: one typed schema, one version number, and an ordered list of
// migrations. To add a store (datasets, runs, checkpoints, adapters, model cache): extend StudioSchema,
// append a migration, and bump nothing else — DB_VERSION follows the list. The record types (records.ts)
// are those of the latest version, schema v6.

import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { MetaValues } from './meta-values';
import type { AdapterRecord, CheckpointRecord, DatasetRecord, EvalResultRecord, EvalSuiteRecord, MatmulTuningRecord, MetricRow, ReferenceRecord, RunRecord } from './records';
import { markSavedAsSft } from './migrate-v3';
import { keyCheckpointsByStep } from './migrate-v6';

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
  /** The newest two checkpoints of each run (key [runId, step]; keyed runId, one per run, before v6). */
  checkpoints: { key: [string, number]; value: CheckpointRecord };
  adapters: { key: string; value: AdapterRecord; indexes: { runId: string } };
  /** The frozen starting adapter of a run begun from a saved one (key runId); since v3. */
  references: { key: string; value: ReferenceRecord };
  /** Evaluation suites with their items (key id); since v4. */
  evalSuites: { key: string; value: EvalSuiteRecord };
  /** Before/after evaluations (key id), found by the adapters they evaluated; since v4. */
  evalResults: { key: string; value: EvalResultRecord; indexes: { adapterIds: string } };
  /** The matmul kernels' autotune per GPU adapter (key adapterKey); since v5. */
  matmulTunings: { key: string; value: MatmulTuningRecord };
}

export type StudioDb = IDBPDatabase<StudioSchema>;

export type UpgradeTx = IDBPTransaction<StudioSchema, StoreNames<StudioSchema>[], 'versionchange'>;
/** Creates stores synchronously; one that rewrites records returns the promise of its cursor walk. */
type Migration = (db: StudioDb, tx: UpgradeTx) => void | Promise<void>;

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
  // 2 -> 3 (schema v3): reference adapters of runs begun from a saved adapter; datasets and runs carry
  // their method, and everything saved before v3 is SFT. Metrics, checkpoints and adapters are untouched.
  (db, tx) => {
    db.createObjectStore('references', { keyPath: 'runId' });
    return markSavedAsSft(tx);
  },
  // 3 -> 4 (schema v4): evaluation suites and results. Nothing saved before changes.
  (db) => {
    db.createObjectStore('evalSuites', { keyPath: 'id' });
    db.createObjectStore('evalResults', { keyPath: 'id' }).createIndex('adapterIds', 'adapterIds', { multiEntry: true });
  },
  // 4 -> 5 (schema v5): matmul tunings per GPU adapter. Nothing saved before changes.
  (db) => {
    db.createObjectStore('matmulTunings', { keyPath: 'adapterKey' });
  },
  // 5 -> 6 (schema v6): checkpoints keyed [runId, step], so a run keeps two. Each saved checkpoint is kept.
  (db, tx) => keyCheckpointsByStep(db, tx),
];

export const DB_VERSION = migrations.length;

/**
 * Runs the migrations from oldVersion to newVersion in order, each after the previous one's rewrites. Any
 * failure aborts the upgrade transaction, so the database stays at oldVersion with nothing half-migrated
 * and the open rejects.
 */
export async function upgrade(db: StudioDb, oldVersion: number, newVersion: number, tx: UpgradeTx): Promise<void> {
  try {
    for (let v = oldVersion; v < newVersion; v++) {
      // Awaited only when it returns a promise: idb keeps the transaction active across its own requests only.
      const rewriting = migrations[v](db, tx);
      if (rewriting) await rewriting;
    }
  } catch (err) {
    abortQuietly(tx);
    throw err;
  }
}

function abortQuietly(tx: UpgradeTx): void {
  try {
    tx.abort();
  } catch {
    // Already aborted by the failed request.
  }
}

export class StorageBlockedError extends Error {
  override name = 'StorageBlockedError';
}

/** What a tab whose code is older than the saved data shows: its connection is closed and cannot reopen. */
export const UPGRADED_ELSEWHERE_MESSAGE = 'Tunelab was updated in another tab — reload to continue.';

/** The database was upgraded by a newer Tunelab in another tab (or is newer than this tab's code). */
export class StorageUpgradedError extends Error {
  override name = 'StorageUpgradedError';
  constructor() {
    super(UPGRADED_ELSEWHERE_MESSAGE);
  }
}

export interface OpenStudioDbOptions {
  /**
   * Called when another tab opens a newer version (or deletes the database): this connection is already
   * closed, so that tab's upgrade goes ahead at once, and nothing more can be read or written here.
   */
  onUpgradedElsewhere?: () => void;
}

/**
 * Opens (creating or upgrading) the database. If another tab holds an older version open, the upgrade
 * waits for it: this rejects with StorageBlockedError instead of hanging. A tab whose connection blocks
 * a newer tab's upgrade closes it and says so through onUpgradedElsewhere; a database already newer than
 * this code rejects with StorageUpgradedError.
 */
export function openStudioDb(options: OpenStudioDbOptions = {}): Promise<StudioDb> {
  if (!globalThis.indexedDB) {
    return Promise.reject(new Error('IndexedDB is not available here (private browsing, or storage blocked for this site).'));
  }
  return new Promise<StudioDb>((resolve, reject) => {
    let blocked = false;
    // A failed upgrade aborts its transaction, which rejects the open: reported with the migration's own error.
    let upgradeError: unknown;
    openDB<StudioSchema>(DB_NAME, DB_VERSION, {
      upgrade(db, oldVersion, newVersion, tx) {
        tx.done.catch(() => undefined); // an aborted upgrade is reported by the open
        upgrade(db, oldVersion, newVersion ?? DB_VERSION, tx).catch((err: unknown) => (upgradeError = err));
      },
      blocked: () => {
        blocked = true;
        reject(new StorageBlockedError('Another Tunelab tab uses an older database version: close it and reload.'));
      },
      blocking(_current, _next, event) {
        // Closed synchronously, before the other tab's open can be reported blocked.
        (event.target as IDBDatabase).close();
        options.onUpgradedElsewhere?.();
      },
    }).then(
      (db) => (blocked ? db.close() : resolve(db)),
      (err: unknown) => {
        if (upgradeError !== undefined) {
          const why = upgradeError instanceof Error ? upgradeError.message : String(upgradeError);
          reject(new Error(`Upgrading the saved data to version ${DB_VERSION} failed, and nothing was changed: ${why}`, { cause: upgradeError }));
        } else if (err instanceof DOMException && err.name === 'VersionError') {
          // Saved by a newer Tunelab (another tab reloaded first): this page's code cannot read it.
          reject(new StorageUpgradedError());
        } else {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      },
    );
  });
}
