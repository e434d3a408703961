// HubSource against a local server that answers the Hub's resolve URLs: byte-exact downloads with progress,
// the folder cache (second load: no requests), interrupted downloads, gated repos, missing optional files,
// sharded repos, and the repo id rules.

import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFiles, type ModelFiles } from '../../src/engine/model/model-files';
import { hubCacheKey, type FileCache } from '../../src/engine/model/file-cache';
import { HubDownloadError, HubSource, hubRepoIdProblem, isHubRepoId } from '../../src/engine/model/hub-source';
import type { DownloadProgress, ModelSource } from '../../src/engine/model/source';
import { DirectorySource } from '../../src/node/directory-source';
import { FolderCache } from '../../src/node/folder-cache';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { makeTempDir, removeTempDir, writeTinyModel } from '../helpers/tiny-models';

const MODELS = resolve(__dirname, '../../../shared/assets/models');
const STORIES = join(MODELS, 'stories260K');
const STORIES_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors'];

/** Wraps a source and keeps every file it returned, to compare with the files on disk. */
function recording(source: ModelSource): { source: ModelSource; got: Map<string, Uint8Array> } {
  const got = new Map<string, Uint8Array>();
  return {
    got,
    source: {
      id: source.id,
      read: async (name, onProgress) => {
        const bytes = await source.read(name, onProgress);
        if (bytes) got.set(name, bytes);
        return bytes;
      },
    },
  };
}

function byFile(events: DownloadProgress[]): Map<string, DownloadProgress[]> {
  const m = new Map<string, DownloadProgress[]>();
  for (const e of events) m.set(e.file, [...(m.get(e.file) ?? []), e]);
  return m;
}

/** SHA-256 of some bytes (comparing digests is fast; deep-equal on a megabyte array is not). */
function digest(bytes: Uint8Array | undefined): string | undefined {
  return bytes && createHash('sha256').update(bytes).digest('hex');
}

async function diskDigest(path: string): Promise<string | undefined> {
  return digest(await readFile(path));
}

/** Every tensor's dtype, shape and bytes digest, by name. */
function tensorDigests(files: ModelFiles): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files.weights) for (const [name, t] of f.tensors) out[name] = `${t.dtype}[${t.shape.join(',')}] ${digest(t.bytes)}`;
  return out;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

let server: HubServer;
let temp: string;

beforeAll(async () => {
  server = await startHubServer(MODELS);
  temp = await makeTempDir('tunelab-hub-');
});

afterAll(async () => {
  await server.close();
  await removeTempDir(temp);
});

describe('HubSource over a local Hub server', () => {
  it('downloads stories260K byte-exact with monotonic progress that ends at loaded == total for every file', async () => {
    const cache = new FolderCache(join(temp, 'cache-first'));
    const hub = new HubSource('stories260K', { endpoint: server.endpoint, cache });
    const { source, got } = recording(hub);
    const events: DownloadProgress[] = [];
    const files = await loadModelFiles(source, (p) => events.push({ ...p }));

    for (const name of STORIES_FILES) {
      const disk = await diskDigest(join(STORIES, name));
      expect(digest(got.get(name)), name).toBe(disk);
      // What the cache kept is the same file.
      expect(digest(await cache.get(hub.cacheKey(name))), `cached ${name}`).toBe(disk);
    }
    expect(files.config.architecture).toBe('llama');
    expect(files.rawConfig).toEqual(JSON.parse(await readFile(join(STORIES, 'config.json'), 'utf8')));
    expect(tensorDigests(files)).toEqual(tensorDigests(await loadModelFiles(new DirectorySource(STORIES))));

    const perFile = byFile(events);
    expect([...perFile.keys()].sort()).toEqual([...STORIES_FILES].sort());
    for (const [name, list] of perFile) {
      const size = (await readFile(join(STORIES, name))).byteLength;
      for (let i = 1; i < list.length; i++) expect(list[i].loaded, `${name} event ${i}`).toBeGreaterThanOrEqual(list[i - 1].loaded);
      expect(list.every((e) => !e.cached), name).toBe(true);
      expect(list.at(-1), name).toEqual({ file: name, loaded: size, total: size, cached: false });
    }
    // The weights announce their size (Content-Length) from the first event on.
    expect(perFile.get('model.safetensors')![0]).toMatchObject({ loaded: 0, total: 1044984 });
  });

  it('loads a second time from the same folder cache with zero requests and reports cached: true', async () => {
    const cacheDir = join(temp, 'cache-second');
    await loadModelFiles(new HubSource('stories260K', { endpoint: server.endpoint, cache: new FolderCache(cacheDir) }));
    const before = server.requestsFor('model.safetensors');
    const total = server.totalRequests();

    const events: DownloadProgress[] = [];
    const again = await loadModelFiles(new HubSource('stories260K', { endpoint: server.endpoint, cache: new FolderCache(cacheDir) }), (p) =>
      events.push(p),
    );
    expect(server.requestsFor('model.safetensors')).toBe(before);
    expect(server.totalRequests()).toBe(total);
    expect(events.length).toBe(STORIES_FILES.length);
    expect(events.every((e) => e.cached && e.loaded === e.total)).toBe(true);
    expect(tensorDigests(again)).toEqual(tensorDigests(await loadModelFiles(new DirectorySource(STORIES))));
  });

  it('an interrupted download leaves no cache entry and names the URL; the next read downloads again', async () => {
    const cacheDir = join(temp, 'cache-truncated');
    const cache = new FolderCache(cacheDir);
    const hub = new HubSource('stories260K', { endpoint: server.endpoint, cache });
    const url = `${server.endpoint}/stories260K/resolve/main/model.safetensors`;
    const requestsBefore = server.requestsFor('model.safetensors');
    server.truncate('stories260K', 'model.safetensors');
    try {
      await expect(hub.read('model.safetensors')).rejects.toThrow(url);
    } finally {
      server.reset();
    }
    expect(await cache.get(hub.cacheKey('model.safetensors'))).toBeUndefined();
    expect(await filesUnder(cacheDir).catch(() => [])).toEqual([]);

    const bytes = await hub.read('model.safetensors');
    expect(server.requestsFor('model.safetensors')).toBe(requestsBefore + 2);
    expect(digest(bytes)).toBe(await diskDigest(join(STORIES, 'model.safetensors')));
    expect(digest(await cache.get(hub.cacheKey('model.safetensors')))).toBe(digest(bytes));
  });

  it('a gated repo (401) gets an error that says so and names the repo and the file', async () => {
    server.deny('stories260K', 401);
    try {
      const hub = new HubSource('stories260K', { endpoint: server.endpoint });
      await expect(hub.read('config.json')).rejects.toThrow(/^stories260K: config\.json .*HTTP 401.*gated or private/);
      await expect(loadModelFiles(hub)).rejects.toThrow(/gated or private/);
    } finally {
      server.reset();
    }
  });

  it('other HTTP errors and network failures name the URL', async () => {
    server.deny('stories260K', 500);
    try {
      const hub = new HubSource('stories260K', { endpoint: server.endpoint });
      await expect(hub.read('config.json')).rejects.toThrow(`${server.endpoint}/stories260K/resolve/main/config.json: HTTP 500`);
    } finally {
      server.reset();
    }
    // A port nobody listens on: the one of a server that was just closed.
    const gone = await startHubServer(MODELS);
    await gone.close();
    const offline = new HubSource('stories260K', { endpoint: gone.endpoint });
    await expect(offline.read('config.json')).rejects.toThrow(`${gone.endpoint}/stories260K/resolve/main/config.json: download failed`);
  });

  it('a missing optional file is undefined, not an error, and is not asked for twice', async () => {
    const repo = join(temp, 'repos', 'no-generation-config');
    await mkdir(repo, { recursive: true });
    for (const name of STORIES_FILES.filter((n) => n !== 'generation_config.json')) await copyFile(join(STORIES, name), join(repo, name));
    const local = await startHubServer(join(temp, 'repos'));
    try {
      const hub = new HubSource('no-generation-config', { endpoint: local.endpoint });
      const files = await loadModelFiles(hub);
      expect(files.generationConfig).toBeUndefined();
      expect(files.tokenizer).toBeDefined();
      expect(local.requestsFor('generation_config.json')).toBe(1);
      expect(hub.knownAbsent('generation_config.json')).toBe(true);
      expect(await hub.read('generation_config.json')).toBeUndefined();
      expect(local.requestsFor('generation_config.json')).toBe(1);
    } finally {
      await local.close();
    }
  });

  it('a repository the server does not have is an error, not a missing file', async () => {
    const hub = new HubSource('nobody/no-such-model', { endpoint: server.endpoint });
    await expect(loadModelFiles(hub)).rejects.toThrow('repository nobody/no-such-model not found');
  });

  it('loads a sharded repository (index + two shards) with an org/name id', async () => {
    const repos = join(temp, 'sharded-repos');
    const tiny = await writeTinyModel(join(repos, 'tunelab-test', 'tiny-llama-sharded'), 'llama', { sharded: true });
    const shards = (await readdir(tiny.dir)).filter((f) => /^model-.*\.safetensors$/.test(f)).sort();
    expect(shards.length).toBe(2);
    const local = await startHubServer(repos);
    try {
      const events: DownloadProgress[] = [];
      const hub = new HubSource('tunelab-test/tiny-llama-sharded', { endpoint: local.endpoint, cache: new FolderCache(join(temp, 'cache-sharded')) });
      const files = await loadModelFiles(hub, (p) => events.push(p));
      expect(files.weights.map((w) => w.file).sort()).toEqual(shards);
      expect(tensorDigests(files)).toEqual(tensorDigests(await loadModelFiles(new DirectorySource(tiny.dir))));
      const done = byFile(events);
      for (const shard of shards) {
        const size = (await readFile(join(tiny.dir, shard))).byteLength;
        expect(done.get(shard)?.at(-1), shard).toEqual({ file: shard, loaded: size, total: size, cached: false });
      }
      expect(local.requestsFor('model.safetensors')).toBe(1); // the 404 that sends the loader to the index
      expect(local.requestsFor('model.safetensors.index.json')).toBe(1);
      // A new session with the same cache: the 404 is remembered there too, so no request at all.
      const before = local.totalRequests();
      const again = new HubSource('tunelab-test/tiny-llama-sharded', { endpoint: local.endpoint, cache: new FolderCache(join(temp, 'cache-sharded')) });
      expect(tensorDigests(await loadModelFiles(again))).toEqual(tensorDigests(files));
      expect(local.totalRequests()).toBe(before);
    } finally {
      await local.close();
    }
  });

  it('throttles progress: with a long interval a file reports only its start and its end', async () => {
    const hub = new HubSource('stories260K', { endpoint: server.endpoint, progressIntervalMs: 1e9 });
    const events: DownloadProgress[] = [];
    await hub.read('model.safetensors', (p) => events.push(p));
    expect(events).toEqual([
      { file: 'model.safetensors', loaded: 0, total: 1044984, cached: false },
      { file: 'model.safetensors', loaded: 1044984, total: 1044984, cached: false },
    ]);
  });

  it('without Content-Length the size is unknown until the end, then reported as loaded == total', async () => {
    const chunks = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])];
    const fetchChunked: typeof fetch = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const c of chunks) controller.enqueue(c);
            controller.close();
          },
        }),
      );
    const hub = new HubSource('org/name', { endpoint: 'https://hub.example', fetch: fetchChunked, progressIntervalMs: 0 });
    const events: DownloadProgress[] = [];
    expect(await hub.read('x.bin', (p) => events.push(p))).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
    expect(events.map((e) => [e.loaded, e.total])).toEqual([
      [0, undefined],
      [3, undefined],
      [5, undefined],
      [5, 5],
    ]);
  });
  it('a body longer than its Content-Length (compressed, encoding hidden by CORS) is kept whole, size unknown', async () => {
    const fetchLonger: typeof fetch = async () => new Response(new Uint8Array([1, 2, 3, 4, 5]), { headers: { 'Content-Length': '3' } });
    const hub = new HubSource('org/name', { endpoint: 'https://hub.example', fetch: fetchLonger });
    const events: DownloadProgress[] = [];
    expect(await hub.read('tokenizer.json', (p) => events.push(p))).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
    expect(events.at(-1)).toEqual({ file: 'tokenizer.json', loaded: 5, total: 5, cached: false });
  });
});

/** A response whose body counts the chunks read from it and whether it was cancelled (nothing is read unasked). */
function countedResponse(headers: Record<string, string>) {
  const body = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        body.pulled++;
        controller.enqueue(new Uint8Array(1 << 16));
      },
      cancel() {
        body.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { body, response: new Response(stream, { headers }) };
}

/** A FileCache in memory that records every put. */
function memoryCache() {
  const puts: string[] = [];
  const cache: FileCache = { get: async () => undefined, put: async (key) => void puts.push(key) };
  return { cache, puts };
}

describe('HubSource file size limits', () => {
  it('refuses a Content-Length over the file limit before reading the body, naming the URL, and caches nothing', async () => {
    const { body, response } = countedResponse({ 'Content-Length': '6000000000' });
    const { cache, puts } = memoryCache();
    const hub = new HubSource('org/name', { endpoint: 'https://hub.example', fetch: async () => response, cache });
    const events: DownloadProgress[] = [];
    await expect(hub.read('model-00001-of-00004.safetensors', (p) => events.push(p))).rejects.toThrow(
      new HubDownloadError(
        'https://hub.example/org/name/resolve/main/model-00001-of-00004.safetensors',
        'Content-Length is 5.59 GiB (6000000000 bytes), over the limit of 4.66 GiB (5000000000 bytes) for one model file; not downloaded',
      ),
    );
    expect(body).toEqual({ pulled: 0, cancelled: true });
    expect(events).toEqual([]);
    expect(puts).toEqual([]);
  });

  it('refuses a Content-Length this device cannot allocate, naming the URL, before reading the body', async () => {
    // 2^53 bytes: over every JS engine's typed-array limit, so the allocation fails at once.
    const { body, response } = countedResponse({ 'Content-Length': String(2 ** 53) });
    const hub = new HubSource('org/name', { endpoint: 'https://hub.example', fetch: async () => response, maxFileBytes: Infinity });
    await expect(hub.read('model.safetensors')).rejects.toThrow(
      'https://hub.example/org/name/resolve/main/model.safetensors: Content-Length is 8388608 GiB (9007199254740992 bytes), more than this device can hold in one buffer (',
    );
    expect(body).toEqual({ pulled: 0, cancelled: true });
  });

  it('applies the limit to a real server\'s file, and to a body without Content-Length as it streams', async () => {
    const url = `${server.endpoint}/stories260K/resolve/main/model.safetensors`;
    const small = new HubSource('stories260K', { endpoint: server.endpoint, maxFileBytes: 1_000_000 });
    await expect(small.read('model.safetensors')).rejects.toThrow(
      `${url}: Content-Length is 1020.49 KiB (1044984 bytes), over the limit of 976.56 KiB (1000000 bytes) for one model file; not downloaded`,
    );
    expect((await new HubSource('stories260K', { endpoint: server.endpoint, maxFileBytes: 1044984 }).read('model.safetensors'))?.byteLength).toBe(1044984);

    const { body, response } = countedResponse({});
    const unsized = new HubSource('org/name', { endpoint: 'https://hub.example', fetch: async () => response, maxFileBytes: 100_000 });
    await expect(unsized.read('model.safetensors')).rejects.toThrow(
      'https://hub.example/org/name/resolve/main/model.safetensors: the body runs past 97.66 KiB (100000 bytes), the limit for one model file; download stopped',
    );
    expect(body).toEqual({ pulled: 2, cancelled: true });
  });

  it('refuses a limit that is not a positive whole number of bytes', () => {
    for (const bad of [0, -1, NaN, 1.5]) expect(() => new HubSource('gpt2', { maxFileBytes: bad })).toThrow(`maxFileBytes must be a positive whole number of bytes, got ${bad}`);
  });
});

describe('Hub repo ids, URLs and cache keys', () => {
  it('accepts the ids the Hub accepts', () => {
    for (const id of ['gpt2', 'stories260K', 'HuggingFaceTB/SmolLM2-135M-Instruct', 'Qwen/Qwen2.5-0.5B-Instruct', 'a_b/c.d-e', 'TinyLlama/TinyLlama-1.1B-Chat-v1.0']) {
      expect(hubRepoIdProblem(id), id).toBeUndefined();
    }
  });

  it('refuses paths, bad characters and the Hub forbidden forms, saying why', () => {
    const bad: Array<[string, RegExp]> = [
      ['', /empty part/],
      ['a/b/c', /more than one '\/'/],
      ['/abs', /empty part/],
      ['org/', /empty part/],
      ['./models', /must start and end/],
      ['../x', /must start and end/],
      ['has space', /may only hold/],
      ['org/name-', /must start and end/],
      ['org/na--me', /'--'/],
      ['org/na..me', /'\.\.'/],
      ['org/model.git', /\.git/],
      [`org/${'x'.repeat(97)}`, /at most 96/],
    ];
    for (const [id, why] of bad) {
      expect(isHubRepoId(id), id).toBe(false);
      expect(hubRepoIdProblem(id), id).toMatch(why);
      expect(() => new HubSource(id), id).toThrow(`"${id}" is not a Hugging Face repo id`);
    }
  });

  it('builds resolve URLs and cache keys from endpoint, id, revision and file', () => {
    const hub = new HubSource('HuggingFaceTB/SmolLM2-135M', { endpoint: 'http://127.0.0.1:5173/__tunelab/hub/', revision: 'refs/pr/1' });
    expect(hub.url('config.json')).toBe('http://127.0.0.1:5173/__tunelab/hub/HuggingFaceTB/SmolLM2-135M/resolve/refs%2Fpr%2F1/config.json');
    expect(hub.cacheKey('config.json')).toBe('127.0.0.1:5173/__tunelab/hub/HuggingFaceTB/SmolLM2-135M/refs%2Fpr%2F1/config.json');
    expect(new HubSource('gpt2').url('model.safetensors')).toBe('https://huggingface.co/gpt2/resolve/main/model.safetensors');
    expect(hubCacheKey('https://huggingface.co', 'gpt2', 'main', 'config.json')).toBe('huggingface.co/gpt2/main/config.json');
  });

  it('refuses file names that leave the repository and endpoints that are not http(s) URLs', async () => {
    const hub = new HubSource('gpt2', { fetch: () => Promise.reject(new Error('no network in this test')) });
    for (const name of ['../secret', '/etc/passwd', 'a//b', 'a\\b', '']) {
      await expect(hub.read(name), name).rejects.toThrow('is not a file name inside the repository');
    }
    expect(() => new HubSource('gpt2', { endpoint: 'file:///tmp' })).toThrow('must be an http(s) URL');
    expect(() => new HubSource('gpt2', { endpoint: 'huggingface.co' })).toThrow('is not a URL');
  });
});
