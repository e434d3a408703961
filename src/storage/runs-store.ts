// Training runs in IndexedDB: the run records, their metric rows, their newest two checkpoints and (for a
// run begun from a saved adapter) the copy of that adapter. Every change that touches a run also rewrites
// its record in the same transaction, so the record's step and checkpointStep (the newest checkpoint's)
// always describe what is stored; a write that fails (a full quota) changes nothing. A new checkpoint and
// the removal of the oldest are one transaction, so two are kept even when the newest later proves
// unreadable: a resume then falls back to the one before (worker/run-resume.ts).

import type { IDBPTransaction, StoreNames } from 'idb';
import type { StudioDb, StudioSchema } from './db';
import { inStepOrder } from './metric-rows';
import { withQuotaMessage } from './quota';
import type { AdapterRecord, CheckpointRecord, MetricRow, ReferenceRecord, RunRecord } from './records';

export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
  constructor(id: string) {
    super(`No saved run has the id ${id} (it may have been deleted in another tab).`);
  }
}

type RunStores = Exclude<StoreNames<StudioSchema>, 'runs'>;
type RunTx = IDBPTransaction<StudioSchema, StoreNames<StudioSchema>[], 'readwrite'>;

/** Keys [runId, ...] of one run's rows: every key that starts with runId (arrays sort after numbers and strings). */
function rowsOf(runId: string): IDBKeyRange {
  return IDBKeyRange.bound([runId], [runId, []]);
}

/** How many checkpoints a run keeps: the newest, and the one before in case the newest cannot be read. */
export const KEPT_CHECKPOINTS = 2;

/** Keys [runId, step] of one run's checkpoints after `step`. */
function checkpointsAfter(runId: string, step: number): IDBKeyRange {
  return IDBKeyRange.bound([runId, step], [runId, Infinity], true, false);
}

/** Keys of one kind of row after `step`. */
function rowsAfter(runId: string, kind: MetricRow['kind'], step: number): IDBKeyRange {
  return IDBKeyRange.bound([runId, kind, step], [runId, kind, Infinity], true, false);
}

/**
 * Reads a run, lets `change` queue its other writes on the same transaction and return the new record,
 * writes it and waits for the commit. `change` must only queue IndexedDB requests (no other awaits).
 */
async function changeRun(
  db: StudioDb,
  runId: string,
  stores: RunStores[],
  change: (run: RunRecord, tx: RunTx) => { run: RunRecord; writes?: Promise<unknown>[] },
): Promise<RunRecord> {
  return withQuotaMessage(async () => {
    const tx = db.transaction(['runs', ...stores], 'readwrite');
    const done = tx.done;
    done.catch(() => undefined); // awaited below; a failed get must not leave it unobserved
    const current = await tx.objectStore('runs').get(runId);
    if (!current) throw new RunNotFoundError(runId);
    const { run, writes = [] } = change(current, tx);
    await Promise.all([...writes, tx.objectStore('runs').put(run), done]);
    return run;
  });
}

export async function findRun(db: StudioDb, runId: string): Promise<RunRecord | undefined> {
  return db.get('runs', runId);
}

export async function getRun(db: StudioDb, runId: string): Promise<RunRecord> {
  const run = await db.get('runs', runId);
  if (!run) throw new RunNotFoundError(runId);
  return run;
}

/** Every run, newest first. */
export async function allRuns(db: StudioDb): Promise<RunRecord[]> {
  return (await db.getAll('runs')).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Stores a new run, and the copy of the adapter it starts from when it has one, in one transaction. */
export async function addRun(db: StudioDb, run: RunRecord, reference?: ReferenceRecord): Promise<void> {
  await withQuotaMessage(async () => {
    const tx = db.transaction(['runs', 'references'], 'readwrite');
    await Promise.all([tx.objectStore('runs').add(run), reference && tx.objectStore('references').put(reference), tx.done]);
  });
}

/** Changes the record alone (status, name, message). */
export function updateRun(db: StudioDb, runId: string, change: (run: RunRecord) => RunRecord): Promise<RunRecord> {
  return changeRun(db, runId, [], (run) => ({ run: change(run) }));
}

/** Stores a metric row together with the record's new state. */
export function appendRow(db: StudioDb, row: MetricRow, change: (run: RunRecord) => RunRecord): Promise<RunRecord> {
  return changeRun(db, row.runId, ['metrics'], (run, tx) => ({ run: change(run), writes: [tx.objectStore('metrics').put(row)] }));
}

/**
 * Stores a checkpoint with the record's new checkpointStep and deletes the run's checkpoints beyond the
 * newest KEPT_CHECKPOINTS (by step: a resume deletes those after its starting point), in one transaction.
 */
export function saveCheckpoint(db: StudioDb, checkpoint: CheckpointRecord, change: (run: RunRecord) => RunRecord): Promise<RunRecord> {
  return changeRun(db, checkpoint.runId, ['checkpoints'], (run, tx) => {
    const store = tx.objectStore('checkpoints');
    const pruned = store.put(checkpoint).then(async () => {
      const keys = await store.getAllKeys(rowsOf(checkpoint.runId));
      await Promise.all(keys.slice(0, -KEPT_CHECKPOINTS).map((key) => store.delete(key)));
    });
    return { run: change(run), writes: [pruned] };
  });
}

/**
 * Deletes the rows and checkpoints after `step` (a resumed run redoes those steps; a checkpoint after it
 * was unreadable or is about to be replaced) and writes the record's new state.
 */
export function rewindRun(db: StudioDb, runId: string, step: number, change: (run: RunRecord) => RunRecord): Promise<RunRecord> {
  return changeRun(db, runId, ['metrics', 'checkpoints'], (run, tx) => {
    const metrics = tx.objectStore('metrics');
    return {
      run: change(run),
      writes: [
        metrics.delete(rowsAfter(runId, 'step', step)),
        metrics.delete(rowsAfter(runId, 'eval', step)),
        tx.objectStore('checkpoints').delete(checkpointsAfter(runId, step)),
      ],
    };
  });
}

/** Stores an adapter trained by the run and links it from the run. */
export function saveRunAdapter(db: StudioDb, adapter: AdapterRecord & { runId: string }): Promise<RunRecord> {
  return changeRun(db, adapter.runId, ['adapters'], (run, tx) => ({
    run: { ...run, adapterId: adapter.id },
    writes: [tx.objectStore('adapters').put(adapter)],
  }));
}

/** Every row of a run in step order (the training row of a step before its evaluation). */
export async function runRows(db: StudioDb, runId: string): Promise<MetricRow[]> {
  return inStepOrder(await db.getAll('metrics', rowsOf(runId)));
}

/** The run's checkpoints, newest (highest step) first. */
export async function runCheckpoints(db: StudioDb, runId: string): Promise<CheckpointRecord[]> {
  return (await db.getAll('checkpoints', rowsOf(runId))).reverse();
}

/** The run's newest checkpoint. */
export async function getCheckpoint(db: StudioDb, runId: string): Promise<CheckpointRecord | undefined> {
  const newest = await db.transaction('checkpoints').store.openCursor(rowsOf(runId), 'prev');
  return newest?.value;
}

/** The run, its rows, its checkpoints and its reference adapter (adapters saved from it stay). */
export async function deleteRunData(db: StudioDb, runId: string): Promise<void> {
  const tx = db.transaction(['runs', 'metrics', 'checkpoints', 'references'], 'readwrite');
  await Promise.all([
    tx.objectStore('runs').delete(runId),
    tx.objectStore('metrics').delete(rowsOf(runId)),
    tx.objectStore('checkpoints').delete(rowsOf(runId)),
    tx.objectStore('references').delete(runId),
    tx.done,
  ]);
}

/** The writes a training run makes as it goes (an interface, so the loop's bookkeeping can be tested without IndexedDB). */
export interface RunWriter {
  appendRow(row: MetricRow, change: (run: RunRecord) => RunRecord): Promise<RunRecord>;
  saveCheckpoint(checkpoint: CheckpointRecord, change: (run: RunRecord) => RunRecord): Promise<RunRecord>;
  updateRun(runId: string, change: (run: RunRecord) => RunRecord): Promise<RunRecord>;
}

export function runWriter(db: StudioDb): RunWriter {
  return {
    appendRow: (row, change) => appendRow(db, row, change),
    saveCheckpoint: (checkpoint, change) => saveCheckpoint(db, checkpoint, change),
    updateRun: (runId, change) => updateRun(db, runId, change),
  };
}
