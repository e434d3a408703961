// A dataset objective's loss and metrics over a held-out set, in micro-batches of batchSize examples
// (the policy's log-probabilities, and the reference's when the objective reads them and none were precomputed).

import { mergeBatches, type EvalFields, type TokenLogps, type TrainingObjective } from './objective';
import { withReference, type ReferenceSums } from './reference-cache';
import type { TrainBatch } from './train-batch';
import type { TrainerBackend } from './trainer-backend';

export async function evaluateSet<E, T>(
  backend: TrainerBackend,
  objective: TrainingObjective<E, T>,
  examples: readonly E[],
  batchSize: number,
  reference?: ReferenceSums,
): Promise<EvalFields> {
  if (examples.length === 0) throw new RangeError('the evaluation set is empty');
  const batches: TrainBatch[] = [];
  const policy: TokenLogps = [];
  const refs: TokenLogps = [];
  for (let i = 0; i < examples.length; i += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, examples.length - i) }, (_, k) => i + k);
    const batch = withReference(objective.batch(indices.map((k) => examples[k])), reference, indices);
    policy.push(...(await backend.logProbs(batch, 'policy')));
    if (objective.needsReference && !batch.reference) refs.push(...(await backend.logProbs(batch, 'reference')));
    batches.push(batch);
  }
  const merged = mergeBatches(batches);
  const result = objective.evaluate({ batch: merged, policy, reference: refs.length ? refs : undefined }, objective.totals(batches));
  return objective.evalFields(result, merged);
}
