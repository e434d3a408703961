// What the worker's services share: the GPU device, the one loaded model, the database connection and the
// device's matmul tuning.

import type { GpuContext } from '../engine/gpu/context';
import { openStudioDb, type StudioDb } from '../storage/db';
import type { ModelSession } from './model-session';

export interface WorkerDeps {
  gpuContext(): Promise<GpuContext>;
  models: ModelSession;
  db(): Promise<StudioDb>;
  /** The device's matmul tuning: ensure() before training measures it once when none is stored. */
  matmulTuning: { ensure(): Promise<void> };
}

let db: Promise<StudioDb> | undefined;

/** One connection for the worker's lifetime (reopened if opening failed). */
export function studioDb(): Promise<StudioDb> {
  db ??= openStudioDb().catch((err: unknown) => {
    db = undefined;
    throw err;
  });
  return db;
}
