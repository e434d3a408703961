// The offline model folder plugin: the listing, byte-exact files at the Hub's resolve URLs, no way out of
// the folder, no dotfile or dot-folder served or listed, a file closed when its client goes away, loading
// through HubSource, and the plugin on real Vite dev and preview servers.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, realpath, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createServer as createViteServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubSource } from '../../src/engine/model/hub-source';
import { loadModelFiles } from '../../src/engine/model/model-files';
import type { DownloadProgress } from '../../src/engine/model/source';
import { listOfflineModels, offlineModels, offlineModelsHandler, type OfflineModel } from '../../scripts/offline-models';
import { makeTempDir, removeTempDir } from '../helpers/tiny-models';

const MODELS = resolve(__dirname, '../../../shared/assets/models');
const STORIES = join(MODELS, 'stories260K');

interface Served {
  origin: string;
  close(): Promise<void>;
}

/** The plugin's middleware alone on a plain node:http server; other paths answer 418 ("next" was called). */
async function serve(dir: string | undefined): Promise<Served> {
  const handler = offlineModelsHandler(dir);
  const server: Server = createServer((req, res) => handler(req, res, () => res.writeHead(418).end('next')));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** A GET with the path sent exactly as written (fetch would normalise '..' away before sending). */
function rawGet(origin: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((done, fail) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end();
  });
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

let shared: Served;
let temp: string;
beforeAll(async () => {
  shared = await serve(MODELS);
  temp = await makeTempDir('tunelab-offline-');
});
afterAll(async () => {
  await shared.close();
  await removeTempDir(temp);
});

describe('offline model folder: listing', () => {
  it('lists stories260K with its architecture, files and size; folders without config.json are not models', async () => {
    const res = await fetch(`${shared.origin}/__tunelab/models`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const { models } = (await res.json()) as { models: OfflineModel[] };
    expect(models.map((m) => m.id)).toEqual(['stories260K']);
    const [stories] = models;
    expect(stories.architecture).toBe('LlamaForCausalLM');
    expect(stories.files).toEqual(
      ['SOURCE.md', 'config.json', 'expected_greedy_from_bos_40_tokens.txt', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'],
    );
    let bytes = 0;
    for (const f of stories.files) bytes += (await stat(join(STORIES, f))).size;
    expect(stories.bytes).toBe(bytes);
  });

  it('finds repos one and two levels down, skips deeper ones, hidden folders and anything linked from outside', async () => {
    const dir = join(temp, 'layout');
    const outside = join(temp, 'outside-model');
    const repo = async (path: string, config: unknown) => {
      await mkdir(path, { recursive: true });
      await writeFile(join(path, 'config.json'), JSON.stringify(config));
    };
    await repo(join(dir, 'HuggingFaceTB', 'SmolLM2-135M'), { architectures: ['LlamaForCausalLM'] });
    await repo(join(dir, 'gpt2'), { model_type: 'gpt2' });
    await repo(join(dir, 'broken'), 'not an object');
    await writeFile(join(dir, 'broken', 'config.json'), '{ not json');
    await repo(join(dir, 'org', 'family', 'too-deep'), { architectures: ['Qwen2ForCausalLM'] });
    await repo(join(dir, '.cache', 'hidden'), { architectures: ['LlamaForCausalLM'] });
    await repo(outside, { architectures: ['LlamaForCausalLM'] });
    await symlink(outside, join(dir, 'linked-outside'));
    await writeFile(join(temp, 'secret.txt'), 'secret');
    await symlink(join(temp, 'secret.txt'), join(dir, 'gpt2', 'leak.txt'));

    const models = await listOfflineModels(dir);
    expect(models.map((m) => [m.id, m.architecture, m.files])).toEqual([
      ['HuggingFaceTB/SmolLM2-135M', 'LlamaForCausalLM', ['config.json']],
      ['broken', 'unknown', ['config.json']],
      ['gpt2', 'gpt2', ['config.json']],
    ]);
  });

  it('without a folder the listing is empty and every file is 404', async () => {
    const none = await serve(undefined);
    try {
      expect(await (await fetch(`${none.origin}/__tunelab/models`)).json()).toEqual({ models: [] });
      expect((await fetch(`${none.origin}/__tunelab/hub/stories260K/resolve/main/config.json`)).status).toBe(404);
      expect((await fetch(`${none.origin}/index.html`)).status).toBe(418);
    } finally {
      await none.close();
    }
  });
});

describe('offline model folder: files', () => {
  it('serves a file byte-exact with Content-Length, at any revision; HEAD has the length and no body', async () => {
    const disk = await readFile(join(STORIES, 'model.safetensors'));
    const res = await fetch(`${shared.origin}/__tunelab/hub/stories260K/resolve/main/model.safetensors`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(disk.byteLength));
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(disk));
    const head = await fetch(`${shared.origin}/__tunelab/hub/stories260K/resolve/v2/config.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String((await stat(join(STORIES, 'config.json'))).size));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers 404 like the Hub: EntryNotFound for a missing file, RepoNotFound for a missing repo', async () => {
    const file = await fetch(`${shared.origin}/__tunelab/hub/stories260K/resolve/main/model.safetensors.index.json`);
    expect([file.status, file.headers.get('x-error-code')]).toEqual([404, 'EntryNotFound']);
    const repo = await fetch(`${shared.origin}/__tunelab/hub/nobody/nothing/resolve/main/config.json`);
    expect([repo.status, repo.headers.get('x-error-code')]).toEqual([404, 'RepoNotFound']);
    // A folder that is not a model (no config.json) is no repo either, though it exists.
    const notModel = await fetch(`${shared.origin}/__tunelab/hub/stories260K-llama2c/resolve/main/stories260K.bin`);
    expect(notModel.status).toBe(404);
  });

  it('never serves anything outside the folder: .., encoded .., absolute parts and symlinks are refused', async () => {
    const dir = join(temp, 'jail');
    await mkdir(join(dir, 'm'), { recursive: true });
    await writeFile(join(dir, 'm', 'config.json'), '{"architectures":["LlamaForCausalLM"]}');
    await writeFile(join(temp, 'jail-secret.txt'), 'TOP SECRET');
    await symlink(join(temp, 'jail-secret.txt'), join(dir, 'm', 'link.txt'));
    const jail = await serve(dir);
    try {
      const attempts = [
        '/__tunelab/hub/m/resolve/main/../../../jail-secret.txt',
        '/__tunelab/hub/m/resolve/main/..%2F..%2F..%2Fjail-secret.txt',
        '/__tunelab/hub/m/resolve/main/%2e%2e/%2e%2e/jail-secret.txt',
        '/__tunelab/hub/../jail-secret.txt',
        '/__tunelab/hub/..%2Fm/resolve/main/config.json',
        `/__tunelab/hub/m/resolve/main/${encodeURIComponent(join(temp, 'jail-secret.txt'))}`,
        '/__tunelab/hub/m/resolve/main/%5C..%5Cjail-secret.txt',
        '/__tunelab/hub/m/resolve/main/link.txt',
      ];
      for (const path of attempts) {
        const res = await rawGet(jail.origin, path);
        expect([400, 404], path).toContain(res.status);
        expect(res.body, path).not.toContain('TOP SECRET');
      }
      // The same server does serve what is inside.
      expect((await rawGet(jail.origin, '/__tunelab/hub/m/resolve/main/config.json')).status).toBe(200);
      expect((await listOfflineModels(dir))[0].files).toEqual(['config.json']);
    } finally {
      await jail.close();
    }
  });

  it('never serves or lists dotfiles and dot-folders: plain, %-encoded, as the repo, or behind a symlink', async () => {
    const dir = join(temp, 'dots');
    await mkdir(join(dir, 'm', '.git'), { recursive: true });
    await writeFile(join(dir, 'm', 'config.json'), '{"architectures":["LlamaForCausalLM"]}');
    await writeFile(join(dir, 'm', '.env'), 'SECRET ENV');
    await writeFile(join(dir, 'm', '.git', 'config'), 'SECRET GIT');
    await symlink(join(dir, 'm', '.env'), join(dir, 'm', 'plain.txt'));
    await mkdir(join(dir, '.private'), { recursive: true });
    await writeFile(join(dir, '.private', 'config.json'), '{"architectures":["LlamaForCausalLM"],"secret":"SECRET REPO"}');
    await symlink(join(dir, '.private'), join(dir, 'alias'));
    const dots = await serve(dir);
    const hidden = (name: string) => `"${name}": names that start with "." (dotfiles and dot-folders such as .git) are never served`;
    try {
      const refused: [string, string][] = [
        ['/__tunelab/hub/m/resolve/main/.git/config', hidden('.git')],
        ['/__tunelab/hub/m/resolve/main/%2egit/config', hidden('.git')],
        ['/__tunelab/hub/m/resolve/main/%2Egit%2Fconfig', '".git/config" is not a file or folder name'],
        ['/__tunelab/hub/m/resolve/main/.env', hidden('.env')],
        ['/__tunelab/hub/m/resolve/main/%2E%65nv', hidden('.env')],
        ['/__tunelab/hub/.private/resolve/main/config.json', hidden('.private')],
        ['/__tunelab/hub/%2eprivate/resolve/main/config.json', hidden('.private')],
        ['/__tunelab/hub/m/resolve/main/plain.txt', 'plain.txt leads to ".env": names that start with "." (dotfiles and dot-folders such as .git) are never served'],
        ['/__tunelab/hub/alias/resolve/main/config.json', 'config.json leads to ".private": names that start with "." (dotfiles and dot-folders such as .git) are never served'],
      ];
      for (const [path, message] of refused) {
        const res = await rawGet(dots.origin, path);
        expect([res.status, res.body], path).toEqual([path.includes('%2F') ? 400 : 403, message]);
      }
      expect((await rawGet(dots.origin, '/__tunelab/hub/m/resolve/main/config.json')).status).toBe(200);
      const listed = await (await fetch(`${dots.origin}/__tunelab/models`)).text();
      expect(JSON.parse(listed)).toEqual({ models: [{ id: 'm', architecture: 'LlamaForCausalLM', files: ['config.json'], bytes: '{"architectures":["LlamaForCausalLM"]}'.length }] });
    } finally {
      await dots.close();
    }
  });

  it.skipIf(!existsSync('/proc/self/fd'))('closes the file as soon as a client aborts mid-body', async () => {
    const dir = join(temp, 'abort');
    await mkdir(join(dir, 'big'), { recursive: true });
    await writeFile(join(dir, 'big', 'config.json'), '{"architectures":["LlamaForCausalLM"]}');
    // Far more than the socket buffers hold, so the server is still reading the file when the client leaves.
    const file = join(dir, 'big', 'model.safetensors');
    await writeFile(file, new Uint8Array(48 << 20));
    const real = await realpath(file);
    /** How many of this process's descriptors are open on the file. */
    const openOnFile = async () => {
      let n = 0;
      for (const fd of await readdir('/proc/self/fd')) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === real) n++;
      return n;
    };
    const server = await serve(dir);
    try {
      const abort = new AbortController();
      const res = await fetch(`${server.origin}/__tunelab/hub/big/resolve/main/model.safetensors`, { signal: abort.signal });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      expect(await openOnFile()).toBe(1);
      abort.abort();
      await reader.read().catch(() => undefined);
      let open = 1;
      for (let waited = 0; waited < 2000 && open > 0; waited += 20) {
        await new Promise((r) => setTimeout(r, 20));
        open = await openOnFile();
      }
      expect(open).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('refuses methods other than GET and HEAD', async () => {
    const res = await fetch(`${shared.origin}/__tunelab/hub/stories260K/resolve/main/config.json`, { method: 'PUT', body: 'x' });
    expect(res.status).toBe(405);
  });

  it('loads stories260K through HubSource with the offline endpoint, with progress for every file', async () => {
    const events: DownloadProgress[] = [];
    const files = await loadModelFiles(new HubSource('stories260K', { endpoint: `${shared.origin}/__tunelab/hub` }), (p) => events.push(p));
    expect(files.config).toMatchObject({ architecture: 'llama', hiddenSize: 64, numLayers: 5, vocabSize: 512 });
    expect(files.generationConfig).toBeDefined();
    const weights = files.weights[0].tensors.get('model.embed_tokens.weight');
    expect(weights?.shape).toEqual([512, 64]);
    const size = (await stat(join(STORIES, 'model.safetensors'))).size;
    expect(events.filter((e) => e.file === 'model.safetensors').at(-1)).toEqual({ file: 'model.safetensors', loaded: size, total: size, cached: false });
  });
});

describe('offline model folder: the Vite plugin', () => {
  it('answers on the dev server and on the preview server, ahead of the SPA fallback', async () => {
    const root = join(temp, 'site');
    await mkdir(join(root, 'dist'), { recursive: true });
    await writeFile(join(root, 'index.html'), '<!doctype html><title>dev</title>');
    await writeFile(join(root, 'dist', 'index.html'), '<!doctype html><title>preview</title>');
    const common = { root, configFile: false as const, logLevel: 'silent' as const, plugins: [offlineModels(MODELS)] };
    const config = await readFile(join(STORIES, 'config.json'));

    const dev = await createViteServer({ ...common, server: { host: '127.0.0.1', port: 0, strictPort: true, ws: false } });
    await dev.listen();
    const prev = await preview({ ...common, preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false } });
    try {
      for (const url of [dev.resolvedUrls?.local[0], prev.resolvedUrls?.local[0]]) {
        expect(url).toBeDefined();
        const listing = (await (await fetch(new URL('__tunelab/models', url))).json()) as { models: OfflineModel[] };
        expect(listing.models.map((m) => m.id), url).toEqual(['stories260K']);
        const file = await fetch(new URL('__tunelab/hub/stories260K/resolve/main/config.json', url));
        expect(sha256(new Uint8Array(await file.arrayBuffer())), url).toBe(sha256(config));
        const missing = await fetch(new URL('__tunelab/hub/stories260K/resolve/main/nope.json', url));
        expect(missing.status, url).toBe(404);
      }
    } finally {
      await dev.close();
      await prev.close();
    }
  });
});
