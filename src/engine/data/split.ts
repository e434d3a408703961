// The train/eval split of a dataset, derived from (evalFraction, seed) whenever it is needed: one seeded
// permutation, so `tunelab train --eval-split` and the studio hold out the same examples.

import { epochPermutation } from '../train/data-order';

export interface DatasetSplit {
  /** Share of the examples held out for evaluation, in [0, 1); 0 holds out nothing. */
  evalFraction: number;
  seed: number;
}

/** Examples held out: at least one when the fraction is above 0. */
export function evalCount(examples: number, fraction: number): number {
  return fraction > 0 ? Math.max(1, Math.round(fraction * examples)) : 0;
}

/** Indices of the held-out examples, in dataset order. */
export function evalIndices(examples: number, split: DatasetSplit): number[] {
  const held = evalCount(examples, split.evalFraction);
  const order = epochPermutation(examples, split.seed ^ 0x5eed, 0);
  return Array.from(order.subarray(0, held)).sort((a, b) => a - b);
}

/** Splits `items` (in dataset order) as `split` says. */
export function splitItems<T>(items: readonly T[], split: DatasetSplit): { train: T[]; eval: T[] } {
  const held = new Set(evalIndices(items.length, split));
  return { train: items.filter((_, i) => !held.has(i)), eval: items.filter((_, i) => held.has(i)) };
}
