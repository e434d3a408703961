// A saved dataset's train/eval split (src/engine/data/split.ts), never stored twice, and the checks of the
// split the Data page offers.

import { evalCount, splitItems, type DatasetSplit } from '../engine/data/split';

export { evalCount, evalIndices, type DatasetSplit } from '../engine/data/split';

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

/** The examples of a saved dataset (SFT examples or preference pairs), split as it says. */
export function splitDataset<T>(record: { examples: readonly T[]; split: DatasetSplit }): { train: T[]; eval: T[] } {
  return splitItems(record.examples, record.split);
}
