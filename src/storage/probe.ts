// Proves that IndexedDB works here: reads the record the previous page load wrote, writes a fresh one,
// reads it back, and asks the browser how much storage the origin uses.

import { openStudioDb } from './db';
import { storageUse } from './quota';
import { getMeta, putMeta } from './meta';
import type { StorageProbeRecord } from './meta-values';

export interface StorageEstimateSummary {
  usage: number;
  quota: number;
}

export type StorageProbeResult =
  | {
      ok: true;
      /** The probe written and read back just now. */
      current: StorageProbeRecord;
      /** What an earlier page load left behind, if any: evidence that data survives a reload. */
      previous: StorageProbeRecord | null;
      estimate: StorageEstimateSummary | null;
    }
  | { ok: false; error: string };

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function probeStorage(): Promise<StorageProbeResult> {
  try {
    const db = await openStudioDb();
    try {
      const previous = (await getMeta(db, 'storage-probe')) ?? null;
      const current: StorageProbeRecord = { token: randomToken(), writtenAt: new Date().toISOString() };
      await putMeta(db, 'storage-probe', current);
      const readBack = await getMeta(db, 'storage-probe');
      if (readBack?.token !== current.token || readBack.writtenAt !== current.writtenAt) {
        return { ok: false, error: `IndexedDB read back ${JSON.stringify(readBack)} after writing ${JSON.stringify(current)}.` };
      }
      return { ok: true, current, previous, estimate: await storageUse() };
    } finally {
      db.close();
    }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}
