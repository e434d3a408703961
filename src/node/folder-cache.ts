// Downloaded Hub files in a folder (Node: the command line and the tests). Each key becomes a path under
// the folder; a file is written under a temporary name and renamed into place, so a download that dies
// half-way never leaves an entry that a later load would trust.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { FileCache } from '../engine/model/file-cache';

/** `$TUNELAB_CACHE`, else `$XDG_CACHE_HOME/tunelab/hub`, else `~/.cache/tunelab/hub`. */
export function defaultHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TUNELAB_CACHE) return resolve(env.TUNELAB_CACHE);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'tunelab', 'hub');
}

// Characters kept as they are in a path segment; anything else (':' of a port, '%', spaces, ...) and a
// leading '.' are %-escaped, so every key maps to one portable path, two keys never share one, and no
// entry starts with '.' (the temporary files do).
const UNSAFE_SEGMENT_CHAR = /^\.|[^A-Za-z0-9._-]/g;

function encodeSegment(segment: string): string {
  return segment.replace(UNSAFE_SEGMENT_CHAR, (c) =>
    [...new TextEncoder().encode(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

export class FolderCache implements FileCache {
  readonly dir: string;
  constructor(dir: string = defaultHubCacheDir()) {
    this.dir = resolve(dir);
  }

  /** The file that holds `key`. Keys are '/'-separated; '.', '..' and empty segments are refused. */
  pathOf(key: string): string {
    const segments = key.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new Error(`cache key "${key}" has an empty, '.' or '..' part`);
    return join(this.dir, ...segments.map(encodeSegment));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(key);
    try {
      const data = await readFile(path);
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new Error(`cache ${path}: ${(err as Error).message}`);
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // Same folder (rename stays on one file system); unique per writer, so two processes downloading the
    // same file do not share a temp file.
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`);
    try {
      await writeFile(temp, bytes);
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw new Error(`cache ${path}: ${(err as Error).message}`);
    }
  }
}
