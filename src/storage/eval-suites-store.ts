// The evalSuites store (schema v4): imported evaluation suites with their items; lists get summaries (items
// counted, not read out). Every write is one transaction, so a write that fails (a full quota) changes nothing.

import { KEPT_SKIPPED_LINES } from './datasets-store';
import type { StudioDb } from './db';
import { StorageFullError, withQuotaMessage } from './quota';
import type { EvalSuiteRecord, EvalSuiteSummaryRecord } from './records';

export class EvalSuiteNotFoundError extends Error {
  override readonly name = 'EvalSuiteNotFoundError';
  constructor(id: string) {
    super(`No saved evaluation suite has the id ${id} (it may have been deleted in another tab).`);
  }
}

/** Lists carry the first skipped lines and their count (records saved before the cap keep every one, uncounted). */
export function evalSuiteSummary(record: EvalSuiteRecord): EvalSuiteSummaryRecord {
  const { items, skipped, skippedCount = skipped.length, ...rest } = record;
  if ('fewShotPool' in rest) delete rest.fewShotPool;
  return { ...rest, items: items.length, skipped: skipped.slice(0, KEPT_SKIPPED_LINES), skippedCount } as EvalSuiteSummaryRecord;
}

export async function putEvalSuite(db: StudioDb, record: EvalSuiteRecord): Promise<void> {
  try {
    await withQuotaMessage(() => db.put('evalSuites', record));
  } catch (err) {
    if (err instanceof StorageFullError) throw new StorageFullError(`Saving the suite "${record.name}" failed: ${err.message}. Everything saved before is kept.`);
    throw err;
  }
}

export async function getEvalSuite(db: StudioDb, id: string): Promise<EvalSuiteRecord> {
  const record = await db.get('evalSuites', id);
  if (!record) throw new EvalSuiteNotFoundError(id);
  return record;
}

/** Every saved suite without its items, oldest first (the order they were imported in). */
export async function listEvalSuites(db: StudioDb): Promise<EvalSuiteSummaryRecord[]> {
  const summaries: EvalSuiteSummaryRecord[] = [];
  // One record at a time: a list never holds every suite's items at once.
  for (let cursor = await db.transaction('evalSuites').store.openCursor(); cursor; cursor = await cursor.continue()) {
    summaries.push(evalSuiteSummary(cursor.value));
  }
  return summaries.sort((a, b) => a.createdAt - b.createdAt);
}

export async function deleteEvalSuite(db: StudioDb, id: string): Promise<void> {
  await db.delete('evalSuites', id);
}
