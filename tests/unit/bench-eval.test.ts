// The eval bench's workload: seeded HellaSwag-shaped items, the rows each mode computes (what the shared
// context saves), and the speed-up ratio (bench/core/eval-workloads.ts).

import { describe, expect, it } from 'vitest';
import { EVAL_ITEM_SHAPE, randomItems, rowsPerRun, shareSpeedup } from '../../bench/core/eval-workloads';

describe('eval bench workload', () => {
  it('builds the same items for the same seed, in HellaSwag\'s shape, with ids inside the vocabulary', () => {
    const items = randomItems(20, 49152);
    expect(randomItems(20, 49152)).toEqual(items);
    expect(randomItems(20, 49152, 2)).not.toEqual(items);
    for (const { context, continuations } of items) {
      expect(context.length).toBeGreaterThanOrEqual(EVAL_ITEM_SHAPE.contextTokens[0]);
      expect(context.length).toBeLessThanOrEqual(EVAL_ITEM_SHAPE.contextTokens[1]);
      expect(continuations).toHaveLength(4);
      for (const c of continuations) {
        expect(c.length).toBeGreaterThanOrEqual(EVAL_ITEM_SHAPE.choiceTokens[0]);
        expect(c.length).toBeLessThanOrEqual(EVAL_ITEM_SHAPE.choiceTokens[1]);
      }
      expect([...context, ...continuations.flat()].every((id) => Number.isInteger(id) && id >= 0 && id < 49152)).toBe(true);
    }
  });

  it('counts the rows each mode feeds the model: context[:-1] once when shared, context + ending[:-1] per choice otherwise', () => {
    const items = [{ context: [1, 2, 3, 4, 5], continuations: [[6, 7], [8], [9, 10, 11]] }];
    expect(rowsPerRun(items, true)).toBe(4 + 2 + 1 + 3);
    expect(rowsPerRun(items, false)).toBe(6 + 5 + 7);
  });

  it('reports the speed-up as from-scratch time over shared time', () => {
    expect(shareSpeedup([1, 3], [4, 8])).toEqual({ mean: 3, best: 4 });
    expect(() => shareSpeedup([], [1])).toThrow(/both modes/);
  });
});
