// Downloaded model files kept for the next load: a folder on Node (src/node/folder-cache.ts), Cache Storage
// in the browser (src/storage/cache-storage-file-cache.ts). The Hub source only needs get and put.

export interface FileCache {
  /** The whole file stored under key, or undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores a complete file. Implementations must never leave a partial entry behind. */
  put(key: string, bytes: Uint8Array): Promise<void>;
}

/**
 * The cache key of one file of one Hub repository: `<endpoint host and path>/<repo id>/<revision>/<file>`,
 * e.g. `huggingface.co/HuggingFaceTB/SmolLM2-135M/main/config.json`. The revision is URI-encoded so a
 * revision like `refs/pr/1` stays one segment.
 */
export function hubCacheKey(endpoint: string, repoId: string, revision: string, file: string): string {
  const url = new URL(endpoint);
  const where = `${url.host}${url.pathname}`.replace(/\/+$/, '');
  return `${where}/${repoId}/${encodeURIComponent(revision)}/${file}`;
}
