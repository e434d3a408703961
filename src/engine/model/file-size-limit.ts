// How large one model file may be. Each file is held whole in memory (the weights are views of its bytes),
// so a file is refused before any of its body is read when it is over the source's limit, or when this
// device cannot allocate one buffer that large (a JS engine caps typed arrays: 4 GiB in Node 20, and a
// browser tab may be refused far less). A server's Content-Length is an untrusted claim: checking it first
// means a lie or a mistake costs one refusal, not a download that ends in an out-of-memory crash.

import { describeBytes } from '../util/bytes';

/**
 * The default limit for one file: 5 GB, the largest shard transformers' save_pretrained writes by default
 * (max_shard_size "5GB"). A model whose files are larger is far beyond what Tunelab trains in a browser.
 */
export const DEFAULT_MAX_FILE_BYTES = 5e9;


/** Refuses a limit that is not a positive whole number of bytes (Infinity means none). */
export function checkFileLimit(limit: number): number {
  if (!((Number.isSafeInteger(limit) && limit > 0) || limit === Infinity)) throw new RangeError(`maxFileBytes must be a positive whole number of bytes, got ${limit}`);
  return limit;
}

/** Throws `refuse(why)` when `bytes` is over `limit`; `what` names the size's origin ("Content-Length", "the file"). */
export function checkFileSize(bytes: number, limit: number, what: string, refuse: (why: string) => Error): void {
  if (bytes > limit) throw refuse(`${what} is ${describeBytes(bytes)}, over the limit of ${describeBytes(limit)} for one model file`);
}

/** A zeroed buffer for a whole file of `bytes`, or `refuse(why)` thrown when the size is over `limit` or the device cannot allocate it. */
export function allocateFileBuffer(bytes: number, limit: number, what: string, refuse: (why: string) => Error): Uint8Array {
  checkFileSize(bytes, limit, what, refuse);
  try {
    return new Uint8Array(bytes);
  } catch (err) {
    throw refuse(`${what} is ${describeBytes(bytes)}, more than this device can hold in one buffer (${(err as Error).message})`);
  }
}
