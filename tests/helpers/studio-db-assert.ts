// Checks shared by the schema migration tests: the latest store set, and binary records kept byte for byte.

import { expect } from 'vitest';
import { getAdapter } from '../../src/storage/adapters-store';
import type { StudioDb } from '../../src/storage/db';
import type { AdapterRecord, CheckpointRecord } from '../../src/storage/records';
import { getCheckpoint } from '../../src/storage/runs-store';

/** Every object store of the latest schema version, sorted. */
export const LATEST_STORES = ['adapters', 'checkpoints', 'datasets', 'evalResults', 'evalSuites', 'matmulTunings', 'meta', 'metrics', 'references', 'runs'];

export function storeNames(db: StudioDb): string[] {
  return [...db.objectStoreNames].sort();
}

/** Each checkpoint and adapter reads back equal to what was written, its bytes compared element by element. */
export async function expectBinaryRecordsKept(db: StudioDb, checkpoints: readonly CheckpointRecord[], adapters: readonly AdapterRecord[]): Promise<void> {
  for (const written of checkpoints) {
    const stored = await getCheckpoint(db, written.runId);
    expect(stored).toStrictEqual(written);
    expect(Array.from(stored!.bytes)).toEqual(Array.from(written.bytes));
  }
  for (const written of adapters) {
    const stored = await getAdapter(db, written.id);
    expect(stored).toStrictEqual(written);
    expect(Array.from(stored.weights)).toEqual(Array.from(written.weights));
  }
}
