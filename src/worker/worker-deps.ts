// What the worker's services share: the GPU device, the one loaded model, and the database connection.

import type { GpuContext } from '../engine/gpu/context';
import { openStudioDb, type StudioDb } from '../storage/db';
import type { ModelSession } from './model-session';

export interface WorkerDeps {
  gpuContext(): Promise<GpuContext>;
  models: ModelSession;
  db(): Promise<StudioDb>;
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
