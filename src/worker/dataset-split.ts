// A saved dataset's train/eval split, derived from (evalFraction, seed) whenever it is needed and never
// stored twice: the same seeded permutation as `tunelab train --eval-split`, so the studio and the CLI
// hold out the same share the same way.

import type { SftRecord } from '../engine/data/sft-examples';
import { epochPermutation } from '../engine/train/data-order';
import type { DatasetRecord } from '../storage/records';

export interface DatasetSplit {
  /** Share of the examples held out for evaluation, in [0, 1); 0 holds out nothing. */
  evalFraction: number;
  seed: number;
}

/** Examples held out: at least one when the fraction is above 0. */
export function evalCount(examples: number, fraction: number): number {
  return fraction > 0 ? Math.max(1, Math.round(fraction * examples)) : 0;
}

/** What is wrong with a split of `examples` examples, or null. */
export function splitProblem(split: DatasetSplit, examples: number): string | null {
  const { evalFraction, seed } = split;
  if (typeof evalFraction !== 'number' || !(evalFraction >= 0 && evalFraction < 1)) {
    return 'The eval fraction must be at least 0 and below 1 (e.g. 0.1 holds out 10%).';
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) return 'The split seed must be a whole number from 0 to 4294967295.';
  if (evalCount(examples, evalFraction) >= examples) {
    return `An eval fraction of ${evalFraction} leaves no training examples out of ${examples}.`;
  }
  return null;
}

/** Indices of the held-out examples, in dataset order. */
export function evalIndices(examples: number, split: DatasetSplit): number[] {
  const held = evalCount(examples, split.evalFraction);
  const order = epochPermutation(examples, split.seed ^ 0x5eed, 0);
  return Array.from(order.subarray(0, held)).sort((a, b) => a - b);
}

/** The examples of a saved dataset, split as it says. */
export function splitDataset(record: Pick<DatasetRecord, 'examples' | 'split'>): { train: SftRecord[]; eval: SftRecord[] } {
  const held = new Set(evalIndices(record.examples.length, record.split));
  return {
    train: record.examples.filter((_, i) => !held.has(i)),
    eval: record.examples.filter((_, i) => held.has(i)),
  };
}
