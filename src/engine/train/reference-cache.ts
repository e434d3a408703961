// The frozen reference's log-probabilities computed once before training (TRL's precompute_ref_log_probs):
// per example, the summed answer log-probability of each of its sequences (a preference pair has two).
// Micro-batches then carry them (TrainBatch.reference) and no reference pass runs in the step, which
// saves its compute and its activation memory.

import type { TrainingObjective } from './objective';
import { responseSum, type TrainBatch } from './train-batch';
import type { TrainerBackend } from './trainer-backend';

/** Per example, the reference sums of its sequences in batch order. */
export type ReferenceSums = readonly Float64Array[];

export async function precomputeReference<E, T>(
  backend: TrainerBackend,
  objective: TrainingObjective<E, T>,
  examples: readonly E[],
  batchSize: number,
  onProgress?: (done: number) => void,
): Promise<ReferenceSums> {
  const sums: Float64Array[] = [];
  for (let i = 0; i < examples.length; i += batchSize) {
    const chunk = examples.slice(i, i + batchSize);
    const batch = objective.batch(chunk);
    const perExample = batch.sequences.length / chunk.length;
    if (!Number.isInteger(perExample)) throw new Error(`${objective.method}: ${batch.sequences.length} sequences for ${chunk.length} examples`);
    const logps = await backend.logProbs(batch, 'reference');
    const seqSums = batch.sequences.map((s, k) => responseSum(s, logps[k]).sum);
    for (let e = 0; e < chunk.length; e++) sums.push(Float64Array.from(seqSums.slice(e * perExample, (e + 1) * perExample)));
    onProgress?.(Math.min(examples.length, i + batchSize));
  }
  return sums;
}

/** The batch of examples `indices`, carrying their precomputed reference sums when there are any. */
export function withReference(batch: TrainBatch, sums: ReferenceSums | undefined, indices: readonly number[]): TrainBatch {
  if (!sums) return batch;
  const reference = new Float64Array(batch.sequences.length);
  let at = 0;
  for (const i of indices) {
    reference.set(sums[i], at);
    at += sums[i].length;
  }
  if (at !== batch.sequences.length) throw new Error(`precomputed reference: ${at} sums for ${batch.sequences.length} sequences`);
  return { ...batch, reference };
}
