// The studio's train/eval split of a saved dataset: the same held-out examples as `tunelab train
// --eval-split` for the same fraction and seed, at least one held out, and refused when nothing is left.

import { describe, expect, test } from 'vitest';
import { splitExamples } from '../../src/cli/train-data';
import type { SftRecord } from '../../src/engine/data/sft-examples';
import { evalCount, evalIndices, splitDataset, splitProblem } from '../../src/worker/dataset-split';

const records = (n: number): SftRecord[] => Array.from({ length: n }, (_, i) => ({ line: i + 1, example: { kind: 'text', text: `story ${i}` } }));

describe('dataset split', () => {
  test('holds out the same examples as the CLI for the same fraction and seed', () => {
    for (const [n, fraction, seed] of [
      [468, 0.1, 0],
      [468, 0.1, 7],
      [40, 0.25, 123],
      [3, 0.01, 5],
    ] as const) {
      const examples = records(n);
      const cli = splitExamples(
        examples.map((e) => ({ line: e.line, inputIds: [1, 2], trainMask: [0, 1] })),
        fraction,
        seed,
      );
      const studio = splitDataset({ examples, split: { evalFraction: fraction, seed } });
      expect(studio.eval.map((e) => e.line)).toEqual(cli.eval.map((e) => e.line));
      expect(studio.train.map((e) => e.line)).toEqual(cli.train.map((e) => e.line));
      expect(studio.eval).toHaveLength(evalCount(n, fraction));
    }
  });

  test('different seeds hold out different examples; the split is stable for one seed', () => {
    const a = evalIndices(468, { evalFraction: 0.1, seed: 1 });
    expect(a).toHaveLength(47);
    expect(evalIndices(468, { evalFraction: 0.1, seed: 1 })).toEqual(a);
    expect(evalIndices(468, { evalFraction: 0.1, seed: 2 })).not.toEqual(a);
    expect(evalIndices(10, { evalFraction: 0, seed: 1 })).toEqual([]);
  });

  test('bad splits are named', () => {
    expect(splitProblem({ evalFraction: 0.1, seed: 0 }, 10)).toBeNull();
    expect(splitProblem({ evalFraction: 1, seed: 0 }, 10)).toMatch(/below 1/);
    expect(splitProblem({ evalFraction: -0.1, seed: 0 }, 10)).toMatch(/at least 0/);
    expect(splitProblem({ evalFraction: 0.1, seed: 1.5 }, 10)).toMatch(/seed must be a whole number/);
    expect(splitProblem({ evalFraction: 0.1, seed: 0 }, 1)).toBe('An eval fraction of 0.1 leaves no training examples out of 1.');
  });
});
