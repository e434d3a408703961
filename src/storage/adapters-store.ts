// The adapters store: PEFT adapters saved from runs or imported. Every write is one transaction, so a write
// that fails (a full quota) changes nothing and every saved adapter stays as it was.

import type { StudioDb } from './db';
import { withQuotaMessage } from './quota';
import type { AdapterRecord } from './records';

export class AdapterNotFoundError extends Error {
  override readonly name = 'AdapterNotFoundError';
  constructor(id: string) {
    super(`No saved adapter has the id ${id} (it may have been deleted in another tab).`);
  }
}

/** Saves a new or changed adapter; a full quota says so and names the adapter. */
export async function putAdapter(db: StudioDb, record: AdapterRecord): Promise<void> {
  try {
    await withQuotaMessage(() => db.put('adapters', record));
  } catch (err) {
    throw new Error(`Saving the adapter "${record.name}" failed: ${(err as Error).message}. Nothing saved before was lost.`, { cause: err });
  }
}

export async function getAdapter(db: StudioDb, id: string): Promise<AdapterRecord> {
  const record = await db.get('adapters', id);
  if (!record) throw new AdapterNotFoundError(id);
  return record;
}

/** Every saved adapter, newest first, each passed through `summarise` one at a time (weights can be large). */
export async function listAdapters<T>(db: StudioDb, summarise: (record: AdapterRecord) => T): Promise<T[]> {
  const rows: { createdAt: string; summary: T }[] = [];
  for (let cursor = await db.transaction('adapters').store.openCursor(); cursor; cursor = await cursor.continue()) {
    rows.push({ createdAt: cursor.value.createdAt, summary: summarise(cursor.value) });
  }
  return rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((r) => r.summary);
}

export async function renameAdapter(db: StudioDb, id: string, name: string): Promise<void> {
  await withQuotaMessage(async () => {
    const tx = db.transaction('adapters', 'readwrite');
    const record = await tx.store.get(id);
    if (!record) throw new AdapterNotFoundError(id);
    await Promise.all([tx.store.put({ ...record, name }), tx.done]);
  });
}

/** Deletes an adapter and, in the same transaction, its run's link to it. */
export async function deleteAdapter(db: StudioDb, id: string): Promise<void> {
  const tx = db.transaction(['adapters', 'runs'], 'readwrite');
  const record = await tx.objectStore('adapters').get(id);
  const writes: Promise<unknown>[] = [tx.objectStore('adapters').delete(id)];
  if (record?.runId) {
    const runs = tx.objectStore('runs');
    const run = await runs.get(record.runId);
    if (run?.adapterId === id) {
      const { adapterId: _dropped, ...rest } = run;
      writes.push(runs.put(rest));
    }
  }
  await Promise.all([...writes, tx.done]);
}
