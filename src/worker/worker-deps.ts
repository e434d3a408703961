// What the worker's services share: the GPU device, the one loaded model, the database connection (and
// whether a newer Tunelab in another tab has closed it for good) and the device's matmul tuning.

import type { GpuContext } from '../engine/gpu/context';
import { openStudioDb, StorageUpgradedError, type StudioDb } from '../storage/db';
import type { ModelSession } from './model-session';

export interface WorkerDeps {
  gpuContext(): Promise<GpuContext>;
  models: ModelSession;
  db(): Promise<StudioDb>;
  /** Resolves when another tab upgraded the database: the connection is closed and db() rejects from then on. */
  storageUpgraded: Promise<void>;
  /** The device's matmul tuning: ensure() before training measures it once when none is stored. */
  matmulTuning: { ensure(): Promise<void> };
}

/** The worker's one connection, and what happens to it when another tab upgrades the database. */
export class StudioDbConnection {
  private db: Promise<StudioDb> | undefined;
  private upgradedElsewhere = false;
  private markUpgraded!: () => void;
  /** Resolves once another tab upgraded the database (never rejects). */
  readonly upgraded = new Promise<void>((resolve) => (this.markUpgraded = resolve));

  /** The connection, opened on first use (and again if opening failed); rejects with StorageUpgradedError once upgraded elsewhere. */
  get(): Promise<StudioDb> {
    if (this.upgradedElsewhere) return Promise.reject(new StorageUpgradedError());
    this.db ??= openStudioDb({ onUpgradedElsewhere: () => this.onUpgraded() }).catch((err: unknown) => {
      this.db = undefined;
      if (err instanceof StorageUpgradedError) this.onUpgraded();
      throw err;
    });
    return this.db;
  }

  private onUpgraded(): void {
    this.upgradedElsewhere = true;
    this.db = undefined;
    this.markUpgraded();
  }
}

const connection = new StudioDbConnection();

/** One connection for the worker's lifetime (reopened if opening failed). */
export function studioDb(): Promise<StudioDb> {
  return connection.get();
}

/** Resolves when another tab upgraded the database under this worker. */
export const storageUpgraded: Promise<void> = connection.upgraded;
