// A full storage quota, said the way a person can act on it: how much this site uses of what the browser
// allows, and what to delete. IndexedDB reports it as a QuotaExceededError (on the request or on the
// transaction that aborted); every store's writes go through withQuotaMessage so the page hears the same
// sentence everywhere.

export class StorageFullError extends Error {
  override readonly name = 'StorageFullError';
}

export interface StorageUse {
  usage: number;
  quota: number;
}

/** True for the browser's "over quota" error, however IndexedDB or idb delivered it. */
export function isQuotaExceeded(err: unknown): boolean {
  if (err instanceof StorageFullError) return true;
  const e = err as { name?: unknown; error?: unknown; target?: { error?: unknown } } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'QuotaExceededError') return true;
  // An aborted transaction's event (or a wrapper) carries the real error inside.
  return isQuotaExceeded(e.error) || isQuotaExceeded(e.target?.error);
}

/** Bytes as MB (10^6), three significant digits at most: 1234567 -> "1.23". */
function megabytes(bytes: number): string {
  return String(Number((bytes / 1e6).toPrecision(3)));
}

/** "storage is full: 12.3 MB used of 12.5 MB; delete old runs or adapters" (the use when known). */
export function storageFullMessage(use: StorageUse | null): string {
  const amounts = use ? `: ${megabytes(use.usage)} MB used of ${megabytes(use.quota)} MB` : '';
  return `storage is full${amounts}; delete old runs or adapters`;
}

/** What the browser says this origin uses and may use, or null where it cannot tell. */
export async function storageUse(): Promise<StorageUse | null> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (!storage?.estimate) return null;
  try {
    const { usage, quota } = await storage.estimate();
    return usage === undefined || quota === undefined ? null : { usage, quota };
  } catch {
    return null;
  }
}

export async function storageFullError(): Promise<StorageFullError> {
  return new StorageFullError(storageFullMessage(await storageUse()));
}

/** Runs a write; a full quota comes out as a StorageFullError with the numbers, anything else unchanged. */
export async function withQuotaMessage<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof StorageFullError) throw err;
    if (isQuotaExceeded(err)) throw await storageFullError();
    throw err;
  }
}
