// The 5 -> 6 migration (schema v6): a run keeps its newest two checkpoints, so the checkpoints store is
// keyed [runId, step] instead of runId. The v5 store is renamed out of the way, its records (one per run,
// unchanged in shape) are copied into the new store one at a time (a checkpoint can be tens of MB), and
// the old store is deleted, all inside the upgrade transaction.

import { unwrap, type IDBPTransaction } from 'idb';
import type { StudioDb, UpgradeTx } from './db';
import type { CheckpointRecord } from './records';

const V5_STORE = 'checkpointsV5';

export async function keyCheckpointsByStep(db: StudioDb, tx: UpgradeTx): Promise<void> {
  unwrap(tx.objectStore('checkpoints')).name = V5_STORE;
  db.createObjectStore('checkpoints', { keyPath: ['runId', 'step'] });
  // The renamed store is no part of the typed schema.
  const untyped = tx as unknown as IDBPTransaction<unknown, string[], 'versionchange'>;
  for (let cursor = await untyped.objectStore(V5_STORE).openCursor(); cursor; cursor = await cursor.continue()) {
    await tx.objectStore('checkpoints').put(cursor.value as CheckpointRecord);
  }
  unwrap(db).deleteObjectStore(V5_STORE);
}
