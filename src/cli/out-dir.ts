// `tunelab train --out DIR` and a DIR that already holds a run: continuing it takes --resume with one of
// its checkpoints, starting over takes --force (which deletes exactly the files a run writes, listed in the
// message); anything else is refused before the model loads, so an earlier run is never overwritten by
// accident and two runs never mix in one metrics.jsonl.

import { readdir, rm, rmdir } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from '../engine/lora/peft-files';
import { UsageError } from './args';
import { METRICS_FILE, ROLLOUTS_FILE, RUN_FILE } from './run-files';

export const CHECKPOINTS_DIR = 'checkpoints';

/** The files a run writes at the top of --out (run-files.ts), in the order messages list them. */
export const RUN_OUTPUT_FILES = [RUN_FILE, METRICS_FILE, ROLLOUTS_FILE, ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE] as const;

const CHECKPOINT_NAME = /^step-(\d+)$/;

export interface EarlierRun {
  /** Run files found at the top of the folder. */
  files: string[];
  /** Checkpoint folders found in checkpoints/ (step-N), by step. */
  checkpoints: string[];
}

/** What of an earlier run the folder's entries show, from its top entries and those of checkpoints/. */
export function earlierRunIn(entries: readonly string[], checkpointEntries: readonly string[]): EarlierRun | undefined {
  const present = new Set(entries);
  const files = RUN_OUTPUT_FILES.filter((f) => present.has(f));
  const checkpoints = checkpointEntries
    .filter((e) => CHECKPOINT_NAME.test(e))
    .sort((a, b) => Number(CHECKPOINT_NAME.exec(a)![1]) - Number(CHECKPOINT_NAME.exec(b)![1]));
  return files.length || checkpoints.length ? { files, checkpoints } : undefined;
}

/** "run.json, metrics.jsonl, checkpoints/step-10, checkpoints/step-20" */
export function listEarlierRun(run: EarlierRun): string {
  return [...run.files, ...run.checkpoints.map((c) => `${CHECKPOINTS_DIR}/${c}`)].join(', ');
}

/** Whether `checkpoint` is a folder inside `out`'s checkpoints/. */
export function isCheckpointOf(checkpoint: string, out: string): boolean {
  const rel = relative(resolve(out, CHECKPOINTS_DIR), resolve(checkpoint));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Why a run may not start in `out` with these flags, or undefined when it may. */
export function outDirRefusal(out: string, earlier: EarlierRun | undefined, flags: { force: boolean; resume?: string }): string | undefined {
  if (!earlier || flags.force) return undefined;
  const found = `--out ${out} already holds a run (${listEarlierRun(earlier)})`;
  const force = `start over with --force (deletes ${listEarlierRun(earlier)}; other files stay)`;
  if (flags.resume === undefined) {
    const latest = earlier.checkpoints.at(-1);
    const resume = latest ? `continue it with --resume ${join(out, CHECKPOINTS_DIR, latest)}` : 'it has no checkpoint for --resume to continue from';
    return `${found}: ${resume}, ${force}, or choose another --out`;
  }
  if (isCheckpointOf(flags.resume, out)) return undefined;
  return `${found} and --resume ${flags.resume} is not one of its checkpoints: continuing there would mix two runs in one metrics.jsonl; resume into the checkpoint's own --out or an empty one, or ${force} without --resume`;
}

async function entriesOf(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') throw new UsageError(`--out ${dir} is a file, not a folder`);
    throw err;
  }
}

export async function findEarlierRun(out: string): Promise<EarlierRun | undefined> {
  const entries = await entriesOf(out);
  const checkpoints = entries.includes(CHECKPOINTS_DIR) ? await entriesOf(join(out, CHECKPOINTS_DIR)) : [];
  return earlierRunIn(entries, checkpoints);
}

/** Refuses (a UsageError) an --out that holds a run this command may not write over. */
export async function checkOutDir(out: string, flags: { force: boolean; resume?: string }): Promise<void> {
  const refusal = outDirRefusal(out, await findEarlierRun(out), flags);
  if (refusal) throw new UsageError(refusal);
}

/** --force: deletes the earlier run's files and checkpoint folders (and checkpoints/ once empty); returns what went. */
export async function removeEarlierRun(out: string): Promise<string | undefined> {
  const earlier = await findEarlierRun(out);
  if (!earlier) return undefined;
  for (const file of earlier.files) await rm(join(out, file), { force: true });
  for (const c of earlier.checkpoints) await rm(join(out, CHECKPOINTS_DIR, c), { recursive: true, force: true });
  if (earlier.checkpoints.length) {
    await rmdir(join(out, CHECKPOINTS_DIR)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  }
  return listEarlierRun(earlier);
}
