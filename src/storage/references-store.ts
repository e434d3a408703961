// The references store (schema v3): the frozen starting adapter of a run begun from a saved adapter (the
// reference of DPO after SFT), copied so that deleting or renaming that adapter never breaks the run.
// deleteRunData (runs-store.ts) deletes a run's reference with the run.

import type { StudioDb } from './db';
import { withQuotaMessage } from './quota';
import type { ReferenceRecord } from './records';

/** Saves (or replaces) a run's reference; a full quota comes out as StorageFullError and writes nothing. */
export async function putReference(db: StudioDb, record: ReferenceRecord): Promise<void> {
  await withQuotaMessage(() => db.put('references', record));
}

/** The run's reference, or undefined for a run that began from a fresh adapter. */
export async function getReference(db: StudioDb, runId: string): Promise<ReferenceRecord | undefined> {
  return db.get('references', runId);
}
