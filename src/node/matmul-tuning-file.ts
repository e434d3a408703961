// The CLI's matmul tunings: one JSON file in the cache folder holding a record per adapter key
// ({ "format": 1, "tunings": { key: MatmulTuning } }). Written to a temporary name and renamed, after
// reading the file again, so a tune never leaves half a file and keeps the other adapters' records.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { checkMatmulTuning, type MatmulTuningStore } from '../engine/ops/gpu/matmul-tuning-cache';
import type { MatmulTuning } from '../engine/ops/gpu/matmul-tuning';
import { defaultHubCacheDir } from './folder-cache';

const FILE_NAME = 'matmul-tuning.json';
const FORMAT = 1;

/**
 * `$TUNELAB_CACHE/matmul-tuning.json` when that is set (the folder the CLI caches in), else beside the Hub
 * cache: `$XDG_CACHE_HOME/tunelab/` or `~/.cache/tunelab/`.
 */
export function defaultMatmulTuningFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TUNELAB_CACHE) return join(resolve(env.TUNELAB_CACHE), FILE_NAME);
  return join(dirname(defaultHubCacheDir(env)), FILE_NAME);
}

interface TuningFile {
  format: number;
  tunings: Record<string, MatmulTuning>;
}

export class MatmulTuningFile implements MatmulTuningStore {
  readonly path: string;
  constructor(path: string = defaultMatmulTuningFile()) {
    this.path = resolve(path);
  }

  /** Every record in the file, checked; none when there is no file. */
  async all(): Promise<Record<string, MatmulTuning>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`${this.path}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`${this.path}: not JSON (${(err as Error).message}); delete it or run "tunelab tune" to write it again`);
    }
    const file = parsed as Partial<TuningFile> | null;
    if (typeof file !== 'object' || file === null || file.format !== FORMAT) {
      throw new Error(`${this.path}: field "format" must be ${FORMAT}; delete it or run "tunelab tune" to write it again`);
    }
    if (typeof file.tunings !== 'object' || file.tunings === null) throw new Error(`${this.path}: field "tunings" must be an object`);
    const out: Record<string, MatmulTuning> = {};
    for (const [key, value] of Object.entries(file.tunings)) {
      const record = checkMatmulTuning(value, `${this.path}: tunings["${key}"]`);
      if (record.adapterKey !== key) throw new Error(`${this.path}: tunings["${key}"]: field "adapterKey" is "${record.adapterKey}", not its key`);
      out[key] = record;
    }
    return out;
  }

  async get(adapterKey: string): Promise<MatmulTuning | undefined> {
    const all = await this.all();
    return Object.hasOwn(all, adapterKey) ? all[adapterKey] : undefined;
  }

  async put(record: MatmulTuning): Promise<void> {
    const tunings = { ...(await this.all()), [record.adapterKey]: record };
    const file: TuningFile = { format: FORMAT, tunings };
    await mkdir(dirname(this.path), { recursive: true });
    const temp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`);
    try {
      await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`);
      await rename(temp, this.path);
    } catch (err) {
      await rm(temp, { force: true });
      throw new Error(`${this.path}: ${(err as Error).message}`);
    }
  }
}
