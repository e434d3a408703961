// A model repository on the Hugging Face Hub, or on any server that answers the Hub's resolve URLs
// (`<endpoint>/<repo id>/resolve/<revision>/<file>`: a mirror, the studio's offline model folder, a test
// server). Works in the browser and in Node: it needs only `fetch` and ReadableStream.

import { hubCacheKey, type FileCache } from './file-cache';
import { describeBytes } from '../util/bytes';
import { allocateFileBuffer, checkFileLimit, DEFAULT_MAX_FILE_BYTES } from './file-size-limit';
import type { ModelSource, ProgressListener } from './source';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_HUB_REVISION = 'main';

/** A repo id that the Hub would refuse: wrong characters, too long, or more than one '/'. */
export class HubRepoIdError extends Error {
  override readonly name = 'HubRepoIdError';
  constructor(
    readonly repoId: string,
    detail: string,
  ) {
    super(`"${repoId}" is not a Hugging Face repo id: ${detail}`);
  }
}

/** 401 / 403: the Hub does not let an anonymous client read this repository. */
export class HubAccessError extends Error {
  override readonly name = 'HubAccessError';
  constructor(
    readonly repoId: string,
    readonly file: string,
    readonly status: number,
    readonly url: string,
  ) {
    super(
      `${repoId}: ${file} is not readable (HTTP ${status}): the repository is gated or private, or does not exist. ` +
        `Tunelab downloads without an access token, so pick a public model or download the files and load the folder (${url})`,
    );
  }
}

/** Any other failed download: network error, HTTP error, truncated body. Names the URL. */
export class HubDownloadError extends Error {
  override readonly name = 'HubDownloadError';
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(`${url}: ${detail}`);
  }
}

// One path segment of a repo id, as the Hub allows it: letters, digits, '_', '-', '.', starting and ending
// with a letter, digit or '_' (the Hub's own check is `^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$`).
const REPO_SEGMENT = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const MAX_REPO_NAME = 96;

/** Why `id` is not a valid Hub repo id (`name` or `org/name`), or undefined when it is. */
export function hubRepoIdProblem(id: string): string | undefined {
  const parts = id.split('/');
  if (parts.length > 2) return "it has more than one '/' (expected name or org/name)";
  for (const part of parts) {
    if (part === '') return "it has an empty part (expected name or org/name)";
    if (!REPO_SEGMENT.test(part)) {
      return `"${part}" may only hold letters, digits, '-', '_' and '.', and must start and end with a letter, digit or '_'`;
    }
    if (part.includes('--') || part.includes('..')) return `"${part}" contains '--' or '..'`;
  }
  const name = parts[parts.length - 1];
  if (name.length > MAX_REPO_NAME) return `the name is ${name.length} characters long (at most ${MAX_REPO_NAME})`;
  if (name.endsWith('.git')) return "the name ends with '.git'";
  return undefined;
}

export function isHubRepoId(id: string): boolean {
  return hubRepoIdProblem(id) === undefined;
}

function checkFileName(repoId: string, name: string): void {
  const bad = name === '' || name.startsWith('/') || name.includes('\\') || name.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new Error(`${repoId}: "${name}" is not a file name inside the repository`);
}

export interface HubSourceOptions {
  /** Hub or mirror base URL, default https://huggingface.co. */
  endpoint?: string;
  /** Branch, tag or commit, default 'main'. */
  revision?: string;
  /** Where finished downloads are kept; a hit needs no network. */
  cache?: FileCache;
  /** Replaces the global fetch (tests, custom agents). */
  fetch?: typeof globalThis.fetch;
  /** Least time between two progress reports of one file (the first and the last are always reported). */
  progressIntervalMs?: number;
  /** The largest file downloaded (default DEFAULT_MAX_FILE_BYTES); a larger Content-Length is refused unread. */
  maxFileBytes?: number;
}

/** Cache entry recording that a file does not exist in the repository at this revision. */
const ABSENT_MARKER = new TextEncoder().encode('absent');
const absentKey = (key: string) => `${key}.absent`;

export class HubSource implements ModelSource {
  readonly endpoint: string;
  readonly revision: string;
  private readonly cache: FileCache | undefined;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly progressIntervalMs: number;
  private readonly maxFileBytes: number;
  /** Files the server said do not exist (404), so asking again costs no request. With a cache the answer
   * is also kept there (an empty marker entry), so a cached model loads with no network at all. */
  private readonly absent = new Set<string>();

  constructor(
    readonly id: string,
    options: HubSourceOptions = {},
  ) {
    const problem = hubRepoIdProblem(id);
    if (problem) throw new HubRepoIdError(id, problem);
    const endpoint = options.endpoint ?? DEFAULT_HUB_ENDPOINT;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new Error(`Hub endpoint "${endpoint}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`Hub endpoint "${endpoint}" must be an http(s) URL`);
    this.endpoint = endpoint.replace(/\/+$/, '');
    this.revision = options.revision ?? DEFAULT_HUB_REVISION;
    if (this.revision === '') throw new Error(`${id}: the revision must not be empty`);
    this.cache = options.cache;
    // Bound to globalThis: browsers refuse a detached `fetch` ("Illegal invocation").
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.progressIntervalMs = options.progressIntervalMs ?? 100;
    this.maxFileBytes = checkFileLimit(options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
  }

  /** The resolve URL of one file. */
  url(name: string): string {
    const file = name.split('/').map(encodeURIComponent).join('/');
    return `${this.endpoint}/${this.id}/resolve/${encodeURIComponent(this.revision)}/${file}`;
  }

  cacheKey(name: string): string {
    return hubCacheKey(this.endpoint, this.id, this.revision, name);
  }

  /** True when a read of `name` already found that the repository has no such file. */
  knownAbsent(name: string): boolean {
    return this.absent.has(name);
  }

  async read(name: string, onProgress?: ProgressListener): Promise<Uint8Array | undefined> {
    checkFileName(this.id, name);
    if (this.absent.has(name)) return undefined;
    const key = this.cacheKey(name);
    if (await this.cache?.get(absentKey(key))) {
      this.absent.add(name);
      return undefined;
    }
    const cached = await this.cache?.get(key);
    if (cached) {
      onProgress?.({ file: name, loaded: cached.byteLength, total: cached.byteLength, cached: true });
      return cached;
    }

    const url = this.url(name);
    let response: Response;
    try {
      response = await this.fetchFn(url);
    } catch (err) {
      throw new HubDownloadError(url, `download failed (${describe(err)})`);
    }
    if (response.status === 404) {
      await response.body?.cancel().catch(() => {});
      this.checkRepositoryExists(response, url);
      this.absent.add(name);
      await this.cache?.put(absentKey(key), ABSENT_MARKER).catch(() => {});
      return undefined;
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => {});
      throw new HubAccessError(this.id, name, response.status, url);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new HubDownloadError(url, `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    }

    const bytes = await this.readBody(response, url, name, onProgress);
    if (this.cache) {
      try {
        await this.cache.put(key, bytes);
      } catch (err) {
        // A full disk or quota must not fail a load that already has its bytes; the next load downloads again.
        console.warn(`Tunelab: could not cache ${url} (${describe(err)})`);
      }
    }
    return bytes;
  }

  /** The Hub answers 404 with X-Error-Code for a missing repository or revision; only a missing file is "absent". */
  private checkRepositoryExists(response: Response, url: string): void {
    const code = response.headers.get('x-error-code');
    if (code === 'RepoNotFound') throw new HubDownloadError(url, `repository ${this.id} not found at ${this.endpoint}`);
    if (code === 'RevisionNotFound') throw new HubDownloadError(url, `revision "${this.revision}" not found in ${this.id}`);
  }

  private async readBody(response: Response, url: string, name: string, onProgress?: ProgressListener): Promise<Uint8Array> {
    const encoding = response.headers.get('content-encoding');
    const compressed = encoding !== null && encoding !== 'identity';
    // Content-Length counts compressed bytes when the body is encoded; then the size is unknown.
    const lengthHeader = compressed ? null : response.headers.get('content-length');
    let declared = lengthHeader !== null && /^\d+$/.test(lengthHeader.trim()) ? Number(lengthHeader) : undefined;

    // The declared size is checked against the limit and the device before a byte of the body is read.
    let buffer: Uint8Array;
    try {
      const initial = declared ?? Math.min(64 * 1024, this.maxFileBytes);
      buffer = allocateFileBuffer(initial, this.maxFileBytes, 'Content-Length', (why) => new HubDownloadError(url, `${why}; not downloaded`));
    } catch (err) {
      await response.body?.cancel().catch(() => {});
      throw err;
    }
    let loaded = 0;
    let lastReport = -Infinity;
    let lastReported = -1;
    const report = (force: boolean) => {
      if (!onProgress) return;
      const now = Date.now();
      if (!force && now - lastReport < this.progressIntervalMs) return;
      lastReport = now;
      lastReported = loaded;
      onProgress({ file: name, loaded, total: declared, cached: false });
    };
    report(true);

    if (response.body) {
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (loaded + value.byteLength > buffer.byteLength) {
            // More than Content-Length: a compressed body whose Content-Encoding a cross-origin response
            // hides from the browser. The size is unknown after all.
            declared = undefined;
            const needed = loaded + value.byteLength;
            const refuse = (why: string) => new HubDownloadError(url, `${why}; download stopped`);
            if (needed > this.maxFileBytes) throw refuse(`the body runs past ${describeBytes(this.maxFileBytes)}, the limit for one model file`);
            const grown = allocateFileBuffer(Math.min(this.maxFileBytes, Math.max(2 * buffer.byteLength, needed)), this.maxFileBytes, 'a buffer for the body', refuse);
            grown.set(buffer.subarray(0, loaded));
            buffer = grown;
          }
          buffer.set(value, loaded);
          loaded += value.byteLength;
          report(false);
        }
      } catch (err) {
        await reader.cancel().catch(() => {});
        if (err instanceof HubDownloadError) throw err;
        throw new HubDownloadError(url, `download interrupted after ${loaded} bytes (${describe(err)})`);
      }
    }
    if (declared !== undefined && loaded !== declared) {
      throw new HubDownloadError(url, `download truncated: received ${loaded} of ${declared} bytes`);
    }
    // The final state, always: loaded == total (also when the server did not say the size).
    if (onProgress && !(lastReported === loaded && declared === loaded)) onProgress({ file: name, loaded, total: loaded, cached: false });
    return declared !== undefined ? buffer : buffer.slice(0, loaded);
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // Node's fetch wraps the socket error in `cause` ("fetch failed" / "terminated" alone say little).
  const cause = (err as Error & { cause?: unknown }).cause;
  return cause instanceof Error && cause.message !== err.message ? `${err.message}: ${cause.message}` : err.message;
}
