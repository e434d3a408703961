// The Node download cache: keys to paths inside the folder, atomic writes, and the default folder.

import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultHubCacheDir, FolderCache } from '../../src/node/folder-cache';
import { makeTempDir, removeTempDir } from '../helpers/tiny-models';

let temp: string;
beforeAll(async () => {
  temp = await makeTempDir('tunelab-cache-');
});
afterAll(async () => {
  await removeTempDir(temp);
});

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('FolderCache', () => {
  it('stores and returns whole files; a key never stored is undefined', async () => {
    const cache = new FolderCache(join(temp, 'roundtrip'));
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252]);
    expect(await cache.get('huggingface.co/gpt2/main/config.json')).toBeUndefined();
    await cache.put('huggingface.co/gpt2/main/config.json', bytes);
    expect(await cache.get('huggingface.co/gpt2/main/config.json')).toEqual(bytes);
    // Overwriting replaces the whole entry.
    await cache.put('huggingface.co/gpt2/main/config.json', new Uint8Array([9]));
    expect(await cache.get('huggingface.co/gpt2/main/config.json')).toEqual(new Uint8Array([9]));
    expect(await cache.get('huggingface.co/gpt2/main/config.json/deeper')).toBeUndefined();
    expect(await allFiles(cache.dir)).toEqual([join('huggingface.co', 'gpt2', 'main', 'config.json')]);
  });

  it('maps every key to its own path inside the folder (ports, %, leading dots escaped)', async () => {
    const cache = new FolderCache(join(temp, 'escaping'));
    const keys = ['127.0.0.1:5173/x/main/a', '127.0.0.1%3A5173/x/main/a', 'h/x/refs%2Fpr%2F1/a', 'h/x/main/.gitattributes', 'h/x/main/%2Egitattributes'];
    const paths = keys.map((k) => cache.pathOf(k));
    expect(new Set(paths).size).toBe(keys.length);
    for (const p of paths) expect(relative(cache.dir, p).startsWith('..')).toBe(false);
    expect(relative(cache.dir, paths[0])).toBe(join('127.0.0.1%3A5173', 'x', 'main', 'a'));
    expect(relative(cache.dir, paths[3])).toBe(join('h', 'x', 'main', '%2Egitattributes'));
    for (const [i, key] of keys.entries()) await cache.put(key, new Uint8Array([i]));
    for (const [i, key] of keys.entries()) expect(await cache.get(key), key).toEqual(new Uint8Array([i]));
  });

  it("refuses keys with '..', '.' or empty parts", () => {
    const cache = new FolderCache(join(temp, 'refuse'));
    for (const key of ['h/../../etc/passwd', 'h/./a', 'h//a', '/h/a', 'h/a/']) {
      expect(() => cache.pathOf(key), key).toThrow(`cache key "${key}"`);
    }
  });

  it('writes through a temporary file: no temporary file remains, and a failed write leaves no entry', async () => {
    const cache = new FolderCache(join(temp, 'atomic'));
    const big = new Uint8Array(3 << 20).map((_, i) => i * 7);
    // Two writers of the same key at once: the entry is one of them, whole.
    await Promise.all([cache.put('h/r/main/w.bin', big), cache.put('h/r/main/w.bin', big)]);
    expect(Buffer.from((await cache.get('h/r/main/w.bin'))!).equals(Buffer.from(big))).toBe(true);
    expect(await allFiles(cache.dir)).toEqual([join('h', 'r', 'main', 'w.bin')]);

    // The entry's path is taken by a folder: the rename fails, the error names the path, nothing is left.
    await mkdir(cache.pathOf('h/r/main/blocked'), { recursive: true });
    await writeFile(join(cache.pathOf('h/r/main/blocked'), 'inside'), 'x');
    await expect(cache.put('h/r/main/blocked', big)).rejects.toThrow(cache.pathOf('h/r/main/blocked'));
    expect(await allFiles(cache.dir)).toEqual([join('h', 'r', 'main', 'blocked', 'inside'), join('h', 'r', 'main', 'w.bin')]);
    await expect(cache.get('h/r/main/blocked')).rejects.toThrow(cache.pathOf('h/r/main/blocked'));
  });

  it('an entry on disk is exactly the bytes put, readable by any process', async () => {
    const cache = new FolderCache(join(temp, 'disk'));
    await cache.put('huggingface.co/org/name/main/tokenizer.json', new TextEncoder().encode('{"a":1}'));
    expect(await readFile(join(cache.dir, 'huggingface.co', 'org', 'name', 'main', 'tokenizer.json'), 'utf8')).toBe('{"a":1}');
  });
});

describe('defaultHubCacheDir', () => {
  it('is $TUNELAB_CACHE, else $XDG_CACHE_HOME/tunelab/hub, else ~/.cache/tunelab/hub', () => {
    expect(defaultHubCacheDir({ TUNELAB_CACHE: '/data/tl', XDG_CACHE_HOME: '/x' })).toBe('/data/tl');
    expect(defaultHubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(join('/x', 'tunelab', 'hub'));
    expect(defaultHubCacheDir({})).toBe(join(homedir(), '.cache', 'tunelab', 'hub'));
    expect(new FolderCache().dir).toBe(defaultHubCacheDir());
  });
});
