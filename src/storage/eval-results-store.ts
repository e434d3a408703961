// The evalResults store (schema v4): one record per before/after evaluation, found by the adapters it
// evaluated through the multi-entry adapterIds index. Deleting an adapter keeps its results (they name it).

import type { StudioDb } from './db';
import { StorageFullError, withQuotaMessage } from './quota';
import type { EvalResultRecord, EvalResultSummaryRecord } from './records';

export class EvalResultNotFoundError extends Error {
  override readonly name = 'EvalResultNotFoundError';
  constructor(id: string) {
    super(`No saved evaluation has the id ${id} (it may have been deleted in another tab).`);
  }
}

export function evalResultSummary(record: EvalResultRecord): EvalResultSummaryRecord {
  return { ...record, results: record.results.map(({ target, result: { items: _items, ...rest } }) => ({ target, result: rest })) };
}

export async function putEvalResult(db: StudioDb, record: EvalResultRecord): Promise<void> {
  try {
    await withQuotaMessage(() => db.put('evalResults', record));
  } catch (err) {
    if (err instanceof StorageFullError) throw new StorageFullError(`Saving the evaluation "${record.name}" failed: ${err.message}. Everything saved before is kept.`);
    throw err;
  }
}

export async function getEvalResult(db: StudioDb, id: string): Promise<EvalResultRecord> {
  const record = await db.get('evalResults', id);
  if (!record) throw new EvalResultNotFoundError(id);
  return record;
}

/** Every evaluation without its per-item outcomes, newest first; only those of `adapterId` when given. */
export async function listEvalResults(db: StudioDb, adapterId?: string): Promise<EvalResultSummaryRecord[]> {
  const tx = db.transaction('evalResults');
  const summaries: EvalResultSummaryRecord[] = [];
  const source = adapterId === undefined ? tx.store : tx.store.index('adapterIds');
  for (let cursor = await source.openCursor(adapterId === undefined ? undefined : IDBKeyRange.only(adapterId)); cursor; cursor = await cursor.continue()) {
    summaries.push(evalResultSummary(cursor.value));
  }
  return summaries.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export async function deleteEvalResult(db: StudioDb, id: string): Promise<void> {
  await db.delete('evalResults', id);
}
