// The order a run's curve is read in: by step, and at one step the training row before the evaluation
// that followed it (an evaluation at step 0 comes before any training).

import type { MetricRow } from './records';

/** Rows sorted by step; the step row before the eval row of the same step. */
export function inStepOrder(rows: readonly MetricRow[]): MetricRow[] {
  const rank = (r: MetricRow) => (r.kind === 'step' ? 0 : 1);
  return [...rows].sort((a, b) => a.step - b.step || rank(a) - rank(b));
}
