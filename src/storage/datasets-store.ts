// The datasets store: whole records in, summaries (without the examples) out for lists. Every write is one
// transaction, so a write that fails (a full quota) changes nothing and every saved dataset stays as it was.

import type { StudioDb } from './db';
import { StorageFullError, withQuotaMessage } from './quota';
import type { DatasetRecord, DatasetSummaryRecord } from './records';

export class DatasetNotFoundError extends Error {
  override readonly name = 'DatasetNotFoundError';
  constructor(id: string) {
    super(`No saved dataset has the id ${id} (it may have been deleted in another tab).`);
  }
}

/**
 * Runs one write; a full quota comes out as StorageFullError naming what was being saved, with the
 * numbers, and saying that the saved datasets are untouched (the failed transaction wrote nothing).
 */
async function datasetWrite<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await withQuotaMessage(write);
  } catch (err) {
    if (err instanceof StorageFullError) throw new StorageFullError(`${what} failed: ${err.message}. Everything saved before is kept.`);
    throw err;
  }
}

/** Skipped lines a dataset keeps with their line and why (the rest are counted): a file of a million bad lines stores 100. */
export const KEPT_SKIPPED_LINES = 100;

/** Lists carry the first skipped lines and their count (records saved before the cap keep every one, uncounted). */
export function datasetSummary(record: DatasetRecord): DatasetSummaryRecord {
  const { skipped, skippedCount = skipped.length } = record;
  return { ...record, examples: record.examples.length, skipped: skipped.slice(0, KEPT_SKIPPED_LINES), skippedCount };
}

export async function putDataset(db: StudioDb, record: DatasetRecord): Promise<void> {
  await datasetWrite(`Saving the dataset "${record.name}"`, async () => {
    await db.put('datasets', record);
  });
}

export async function getDataset(db: StudioDb, id: string): Promise<DatasetRecord> {
  const record = await db.get('datasets', id);
  if (!record) throw new DatasetNotFoundError(id);
  return record;
}

/** Every saved dataset without its examples, newest first. */
export async function listDatasetSummaries(db: StudioDb): Promise<DatasetSummaryRecord[]> {
  const summaries: DatasetSummaryRecord[] = [];
  // One record at a time: a list never holds every dataset's examples at once.
  for (let cursor = await db.transaction('datasets').store.openCursor(); cursor; cursor = await cursor.continue()) {
    summaries.push(datasetSummary(cursor.value));
  }
  return summaries.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Reads, changes and writes back one record in a single transaction; returns the new record. */
export async function updateDataset(db: StudioDb, id: string, change: (record: DatasetRecord) => DatasetRecord, what: string): Promise<DatasetRecord> {
  return datasetWrite(what, async () => {
    const tx = db.transaction('datasets', 'readwrite');
    const record = await tx.store.get(id);
    // Nothing written: the transaction commits empty.
    if (!record) throw new DatasetNotFoundError(id);
    const next = change(record);
    await Promise.all([tx.store.put(next), tx.done]);
    return next;
  });
}

export async function deleteDataset(db: StudioDb, id: string): Promise<void> {
  await db.delete('datasets', id);
}
