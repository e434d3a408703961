// The one rule for what a checkpoint may hold, shared by every writer of checkpoints (the loop behind the
// CLI's files and the studio's IndexedDB) and by every resume: a step counts only when its loss and
// gradient norm are finite, and a checkpoint is written (or resumed from) only when every value of its
// adapter and AdamW moments is finite. A finite gradient norm does not prove the update finite: a huge
// learning rate moves the weights past float32's range in one step, and that shows only in the tensors.

import type { TrainCheckpoint } from './checkpoint';
import { NonFiniteTrainingError } from './errors';

/** The first value of the checkpoint's tensors that is NaN or infinite, named as the checkpoint file names it; null if none. */
export function firstNonFiniteValue(c: Pick<TrainCheckpoint, 'adapter' | 'optimizer'>): { what: string; value: number } | null {
  for (const [i, m] of c.adapter.modules.entries()) {
    const tensors: [string, Float32Array][] = [
      [`${m.path}.A`, m.a],
      [`${m.path}.B`, m.b],
      [`${m.path}.A.exp_avg`, c.optimizer.m[i].a],
      [`${m.path}.B.exp_avg`, c.optimizer.m[i].b],
      [`${m.path}.A.exp_avg_sq`, c.optimizer.v[i].a],
      [`${m.path}.B.exp_avg_sq`, c.optimizer.v[i].b],
    ];
    for (const [name, data] of tensors) {
      const at = data.findIndex((x) => !Number.isFinite(x));
      if (at >= 0) return { what: `value ${at} of tensor "${name}"`, value: data[at] };
    }
  }
  return null;
}

/** Throws NonFiniteTrainingError when step `step`'s loss or gradient norm is NaN or infinite. */
export function assertFiniteStep(step: number, loss: number, gradNorm: number, lastCheckpoint: number): void {
  if (!Number.isFinite(loss)) throw new NonFiniteTrainingError(step, { what: 'loss', value: loss }, lastCheckpoint);
  if (!Number.isFinite(gradNorm)) throw new NonFiniteTrainingError(step, { what: 'gradient norm', value: gradNorm }, lastCheckpoint);
}

/** Throws NonFiniteTrainingError when the checkpoint about to be written holds a NaN or infinite value. */
export function assertFiniteCheckpoint(c: TrainCheckpoint, lastCheckpoint: number): void {
  const bad = firstNonFiniteValue(c);
  if (bad) throw new NonFiniteTrainingError(c.step, bad, lastCheckpoint);
}
