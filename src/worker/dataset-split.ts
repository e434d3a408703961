// A saved dataset's train/eval split (src/engine/data/split.ts), never stored twice, and the checks of the
// split the Data page offers. A run keeps the split it started with (its settings' split), so a resume never
// trains on an example that was held out before: the dataset's split may change for later runs, except while
// a run saved before runs kept their split (which reads the dataset's) may still resume.

import { evalCount, splitItems, type DatasetSplit } from '../engine/data/split';
import type { RunRecord } from '../storage/records';
import { resumeProblem } from './run-status';

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

/** The split a run trains with: its own, kept when it started, or (a run saved before runs kept one) its dataset's. */
export function runSplit(settings: { split?: DatasetSplit }, dataset: { split: DatasetSplit }): DatasetSplit {
  return settings.split ?? dataset.split;
}

/**
 * Why the split of the dataset `datasetId` cannot change now, or null: a run that reads the dataset's split
 * (saved before runs kept their own) and may still resume would train on the examples it held out.
 */
export function splitChangeProblem(datasetName: string, datasetId: string, runs: readonly RunRecord[]): string | null {
  const blocking = runs.filter((r) => r.settings.datasetId === datasetId && !r.settings.split && resumeProblem(r, false) === null);
  if (blocking.length === 0) return null;
  const names = blocking.map((r) => `"${r.name}"`).join(', ');
  const one = blocking.length === 1;
  return (
    `The split of "${datasetName}" cannot change while ${one ? 'the run' : 'the runs'} ${names} may resume: ${one ? 'it was' : 'they were'} ` +
    `started before runs kept their own split, so resuming would train on the examples held out so far. ` +
    `Stop or delete ${one ? 'that run' : 'those runs'} first, or import the file again as a new dataset with the split you want.`
  );
}
