// Downloaded Hub files in the browser's Cache Storage (page or worker; needs a secure context). Cache
// Storage holds whole responses and commits a put only once its body is complete, so a closed tab never
// leaves a partial entry; it also keeps large files out of IndexedDB's structured clones. It has the shape of
// the engine's FileCache (get and put) without importing it: the worker hands it to the Hub source, where a
// change of that interface fails to compile.

export const HUB_CACHE_NAME = 'tunelab-hub-v1';

// Cache Storage is keyed by http(s) requests; keys become paths under a host that never resolves.
const KEY_ORIGIN = 'https://tunelab-cache.invalid';

export function cacheRequestUrl(key: string): string {
  return `${KEY_ORIGIN}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export class CacheStorageFileCache {
  private opened: Promise<Cache> | undefined;

  constructor(
    readonly cacheName: string = HUB_CACHE_NAME,
    private readonly storage: CacheStorage = globalThis.caches,
  ) {
    if (!storage) throw new Error('Cache Storage is not available (it needs a secure context: https or localhost)');
  }

  private cache(): Promise<Cache> {
    this.opened ??= this.storage.open(this.cacheName);
    return this.opened;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const response = await (await this.cache()).match(cacheRequestUrl(key));
    return response ? new Uint8Array(await response.arrayBuffer()) : undefined;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const body = new Blob([bytes as Uint8Array<ArrayBuffer>]);
    const response = new Response(body, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
    });
    await (await this.cache()).put(cacheRequestUrl(key), response);
  }

  /** Drops every cached download; true when there was a cache to drop. */
  clear(): Promise<boolean> {
    this.opened = undefined;
    return this.storage.delete(this.cacheName);
  }
}
