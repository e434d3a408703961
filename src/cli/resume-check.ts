// Whether a checkpoint can continue this run (--resume): the same training data, seed and method as the run
// that wrote it (its fingerprint), a step before the run's last, and a data position inside the data. A
// resume that fails any of these would train on other examples than the loss curve so far (held-out ones
// among them, after a changed split) or replay a different order; it is refused, naming the difference.
// A checkpoint holding a NaN or infinite value (damaged on disk, or written before finite-guard.ts) is
// refused too: every step after it would be NaN.

import type { RunFingerprint, TrainCheckpoint } from '../engine/train/checkpoint';
import type { DataCursor } from '../engine/train/data-order';
import { firstNonFiniteValue } from '../engine/train/finite-guard';

/** Thrown when a checkpoint does not belong to the run that --resume would continue. */
export class ResumeMismatchError extends Error {
  override readonly name = 'ResumeMismatchError';
  constructor(
    readonly checkpoint: string,
    detail: string,
  ) {
    super(`${checkpoint}: ${detail}`);
  }
}

const count = (n: number) => n.toLocaleString('en-US');
const short = (sha: string) => `${sha.slice(0, 12)}…`;

/** Each way the checkpoint's fingerprint differs from this run's, in words. */
export function fingerprintDifferences(saved: RunFingerprint, now: RunFingerprint): string[] {
  const out: string[] = [];
  if (saved.data.sha256 !== now.data.sha256) {
    out.push(
      `data differs: the checkpoint was made with sha256 ${short(saved.data.sha256)} of ${saved.data.source} (${count(saved.data.examples)} training examples), ` +
        `this run has ${short(now.data.sha256)} of ${now.data.source} (${count(now.data.examples)}); ` +
        'the file, the held-out split, the length limits and the tokenizer all shape the examples',
    );
  }
  if (saved.seed !== now.seed) out.push(`seed differs: the checkpoint was made with --seed ${saved.seed}, this run has --seed ${now.seed}`);
  if (saved.method !== now.method) out.push(`method differs: the checkpoint was made with --method ${saved.method}, this run has --method ${now.method}`);
  return out;
}

export interface ResumeTarget {
  /** The --resume folder, named in messages. */
  checkpoint: string;
  /** The run's optimizer steps. */
  steps: number;
  fingerprint: RunFingerprint;
}

/**
 * Refuses (ResumeMismatchError) a checkpoint that cannot continue this run; returns warnings (an older
 * checkpoint without a fingerprint, whose data and seed cannot be checked).
 */
export function checkResume(saved: { step: number; cursor: DataCursor; fingerprint?: RunFingerprint }, run: ResumeTarget): string[] {
  const warnings: string[] = [];
  if (saved.fingerprint) {
    const differences = fingerprintDifferences(saved.fingerprint, run.fingerprint);
    if (differences.length) throw new ResumeMismatchError(run.checkpoint, `cannot continue this run: ${differences.join('; ')}`);
  } else {
    warnings.push(`${run.checkpoint} was written by an older Tunelab without a data and seed fingerprint: it is not checked that this run has the same data and --seed`);
  }
  if (saved.step >= run.steps) throw new ResumeMismatchError(run.checkpoint, `the checkpoint is at step ${saved.step}, the run has ${run.steps} steps`);
  const examples = run.fingerprint.data.examples;
  if (saved.cursor.position > examples) {
    throw new ResumeMismatchError(run.checkpoint, `checkpoint metadata field "cursor.position" is ${saved.cursor.position}, beyond the ${count(examples)} training examples of this run`);
  }
  return warnings;
}

/** Refuses (ResumeMismatchError) a checkpoint whose adapter or AdamW moments hold a NaN or infinite value, naming the tensor. */
export function checkFiniteResume(saved: Pick<TrainCheckpoint, 'adapter' | 'optimizer'>, checkpoint: string): void {
  const bad = firstNonFiniteValue(saved);
  if (bad) {
    throw new ResumeMismatchError(
      checkpoint,
      `cannot continue a run: the ${bad.what} is ${bad.value} (not a finite number), so every step after it would be too; resume from an earlier checkpoint or start over with --force`,
    );
  }
}
