// What `tunelab train` writes into --out: metrics.jsonl (appended as the run goes; a resumed run first
// drops rows past its checkpoint so the curve has no duplicates), run.json, the final adapter, and
// checkpoints/step-N/ (checkpoint.safetensors plus the adapter at that step, usable on its own).

import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKPOINT_FILE, checkpointBytes, type TrainCheckpoint } from '../engine/train/checkpoint';
import { writeAdapterDir } from '../node/adapter-files';

export const METRICS_FILE = 'metrics.jsonl';
export const RUN_FILE = 'run.json';
/** GRPO: one JSON object per sampled completion (step, generation, prompt, completion, rewards, advantage). */
export const ROLLOUTS_FILE = 'rollouts.jsonl';

export class RunFiles {
  constructor(
    readonly dir: string,
    private readonly baseModel: string,
  ) {}

  get metricsPath(): string {
    return join(this.dir, METRICS_FILE);
  }

  get rolloutsPath(): string {
    return join(this.dir, ROLLOUTS_FILE);
  }

  /**
   * A fresh run empties metrics.jsonl (and rollouts.jsonl for GRPO); a resumed one keeps the rows up to its
   * checkpoint's step.
   */
  async start(run: object, resumedStep: number | undefined, files: string[] = [METRICS_FILE]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, RUN_FILE), `${JSON.stringify(run, null, 2)}\n`);
    for (const file of files) await this.keepUpTo(join(this.dir, file), resumedStep);
  }

  private async keepUpTo(path: string, resumedStep: number | undefined): Promise<void> {
    if (resumedStep === undefined) {
      await writeFile(path, '');
      return;
    }
    let kept: string[] = [];
    try {
      kept = (await readFile(path, 'utf8')).split('\n').filter((line) => line && (JSON.parse(line) as { step: number }).step <= resumedStep);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await writeFile(path, kept.map((l) => `${l}\n`).join(''));
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
    await writeFile(join(dir, `${CHECKPOINT_FILE}.tmp`), checkpointBytes(c));
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
