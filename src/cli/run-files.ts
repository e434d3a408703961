// What `tunelab train` writes into --out: metrics.jsonl (appended as the run goes; a resumed run first
// drops rows past its checkpoint so the curve has no duplicates), run.json, the final adapter, and
// checkpoints/step-N/ (checkpoint.safetensors, with the run's data and seed fingerprint, plus the adapter at
// that step, usable on its own).

import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKPOINT_FILE, checkpointBytes, type RunFingerprint, type TrainCheckpoint } from '../engine/train/checkpoint';
import { writeAdapterDir } from '../node/adapter-files';
import { rowsUpToStep, type KeptRows } from './run-rows';

export const METRICS_FILE = 'metrics.jsonl';
export const RUN_FILE = 'run.json';
/** GRPO: one JSON object per sampled completion (step, generation, prompt, completion, rewards, advantage). */
export const ROLLOUTS_FILE = 'rollouts.jsonl';

export class RunFiles {
  constructor(
    readonly dir: string,
    private readonly baseModel: string,
    /** Recorded in every checkpoint, so that a resume with other data or another seed is refused. */
    private readonly fingerprint: RunFingerprint,
  ) {}

  get metricsPath(): string {
    return join(this.dir, METRICS_FILE);
  }

  get rolloutsPath(): string {
    return join(this.dir, ROLLOUTS_FILE);
  }

  /**
   * A fresh run empties metrics.jsonl (and rollouts.jsonl for GRPO); a resumed one keeps the rows up to its
   * checkpoint's step, a last row cut short by a crash dropped (returned as a warning). Every log is read
   * and checked before anything is written, so a damaged one stops the run with the folder as it was.
   */
  async start(run: object, resumedStep: number | undefined, files: string[] = [METRICS_FILE]): Promise<string[]> {
    const logs = await Promise.all(files.map((file) => this.keptRows(join(this.dir, file), resumedStep)));
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, RUN_FILE), `${JSON.stringify(run, null, 2)}\n`);
    for (const [i, file] of files.entries()) await writeFile(join(this.dir, file), logs[i].text);
    return logs.flatMap((log) => (log.warning ? [log.warning] : []));
  }

  private async keptRows(path: string, resumedStep: number | undefined): Promise<KeptRows> {
    if (resumedStep === undefined) return { text: '' };
    try {
      return rowsUpToStep(await readFile(path, 'utf8'), path, resumedStep);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { text: '' };
      throw err;
    }
  }

  async rollouts(rows: readonly object[]): Promise<void> {
    if (rows.length) await appendFile(this.rolloutsPath, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  async metric(row: object): Promise<void> {
    await appendFile(this.metricsPath, `${JSON.stringify(row)}\n`);
  }

  checkpointDir(step: number): string {
    return join(this.dir, 'checkpoints', `step-${step}`);
  }

  async checkpoint(c: TrainCheckpoint): Promise<string> {
    const dir = this.checkpointDir(c.step);
    await writeAdapterDir(dir, c.adapter, this.baseModel);
    await writeFile(join(dir, `${CHECKPOINT_FILE}.tmp`), checkpointBytes({ ...c, fingerprint: this.fingerprint }));
    await rename(join(dir, `${CHECKPOINT_FILE}.tmp`), join(dir, CHECKPOINT_FILE));
    return dir;
  }

  async finalAdapter(c: TrainCheckpoint): Promise<void> {
    await writeAdapterDir(this.dir, c.adapter, this.baseModel);
  }
}

export async function readCheckpointFile(dir: string): Promise<Uint8Array> {
  try {
    const bytes = await readFile(join(dir, CHECKPOINT_FILE));
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${join(dir, CHECKPOINT_FILE)}: not found (--resume takes a checkpoint folder, e.g. OUT/checkpoints/step-20)`);
    throw err;
  }
}
