// The multiple-choice items the eval bench scores: random token ids in HellaSwag's shape (a context of 64 to
// 96 tokens, 4 endings of 12 to 32 tokens: lm-evaluation-harness's hellaswag has 4 endings of about 20-30
// GPT-2 tokens after a context of 50-100), seeded, so every mode and model sees the same items. Sharing the
// context computes context + the endings once instead of 4 x (context + ending).

import type { ContinuationRequest } from '../../src/engine/eval/loglikelihood';
import { Rng } from '../../src/engine/util/rng';
import { mean } from './measure';

export const EVAL_ITEM_SHAPE = { contextTokens: [64, 96], choices: 4, choiceTokens: [12, 32] } as const;

/** `count` items of random ids in [0, V), the same for the same seed. */
export function randomItems(count: number, V: number, seed = 0xe7a1): ContinuationRequest[] {
  const rng = new Rng(seed);
  const between = ([lo, hi]: readonly [number, number]) => lo + rng.int(hi - lo + 1);
  const ids = (n: number) => Array.from({ length: n }, () => rng.int(V));
  return Array.from({ length: count }, () => ({
    context: ids(between(EVAL_ITEM_SHAPE.contextTokens)),
    continuations: Array.from({ length: EVAL_ITEM_SHAPE.choices }, () => ids(between(EVAL_ITEM_SHAPE.choiceTokens))),
  }));
}

/** Model input rows of the items: shared, context[:-1] once plus each choice's [last context token, ending[:-1]]. */
export function rowsPerRun(items: readonly ContinuationRequest[], shareContext: boolean): number {
  let rows = 0;
  for (const { context, continuations } of items) {
    for (const c of continuations) rows += shareContext ? c.length : context.length + c.length - 1;
    if (shareContext) rows += context.length - 1;
  }
  return rows;
}

/** The shared context's speed-up: mean from-scratch run time over mean shared run time (and the same of the best runs). */
export function shareSpeedup(sharedS: readonly number[], scratchS: readonly number[]): { mean: number; best: number } {
  if (!sharedS.length || !scratchS.length) throw new Error('the speed-up needs timed runs of both modes');
  return { mean: mean(scratchS) / mean(sharedS), best: Math.min(...scratchS) / Math.min(...sharedS) };
}
