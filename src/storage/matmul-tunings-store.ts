// The matmulTunings store (schema v5): one matmul tuning per GPU adapter key, written by the worker after
// an autotune and read when it opens the device.

import type { StudioDb } from './db';
import { withQuotaMessage } from './quota';
import type { MatmulTuningRecord } from './records';

/** Saves (or replaces) the adapter's tuning; a full quota comes out as StorageFullError and writes nothing. */
export async function putMatmulTuning(db: StudioDb, record: MatmulTuningRecord): Promise<void> {
  await withQuotaMessage(() => db.put('matmulTunings', record));
}

/** The adapter's tuning, or undefined when it was never tuned in this browser profile. */
export async function getMatmulTuning(db: StudioDb, adapterKey: string): Promise<MatmulTuningRecord | undefined> {
  return db.get('matmulTunings', adapterKey);
}
