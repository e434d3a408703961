// What `--model X` means on the command line: an existing folder, else a Hugging Face Hub repo id
// (downloaded once into the cache folder), else an error that says which it is not.

import { stat } from 'node:fs/promises';
import { DEFAULT_HUB_ENDPOINT, hubRepoIdProblem, HubSource } from '../engine/model/hub-source';
import { DirectorySource } from './directory-source';
import { defaultHubCacheDir, FolderCache } from './folder-cache';

export interface ResolveModelSourceOptions {
  /** Hub or mirror URL; default: env TUNELAB_HUB_ENDPOINT, then HF_ENDPOINT, then https://huggingface.co. */
  endpoint?: string;
  /** Hub revision (branch, tag or commit), default 'main'. */
  revision?: string;
  /** Download cache folder; default: env TUNELAB_CACHE, then ~/.cache/tunelab/hub. */
  cacheDir?: string;
  /** Environment to read the defaults from (tests). */
  env?: NodeJS.ProcessEnv;
  /** Replaces the global fetch for Hub downloads. */
  fetch?: typeof globalThis.fetch;
}

export function hubEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.TUNELAB_HUB_ENDPOINT || env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT;
}

async function kindOf(path: string): Promise<'dir' | 'file' | 'missing'> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'file';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

export async function resolveModelSource(arg: string, options: ResolveModelSourceOptions = {}): Promise<DirectorySource | HubSource> {
  if (arg.trim() === '') throw new Error('no model given: pass a model folder or a Hugging Face repo id');
  const kind = await kindOf(arg);
  if (kind === 'dir') return new DirectorySource(arg);
  if (kind === 'file') throw new Error(`${arg} is a file; give the folder that holds config.json and the weights`);

  const problem = hubRepoIdProblem(arg);
  if (problem) throw new Error(`no such folder and not a Hub id: ${arg} (${problem})`);
  const env = options.env ?? process.env;
  return new HubSource(arg, {
    endpoint: options.endpoint ?? hubEndpointFromEnv(env),
    revision: options.revision,
    cache: new FolderCache(options.cacheDir ?? defaultHubCacheDir(env)),
    fetch: options.fetch,
  });
}
