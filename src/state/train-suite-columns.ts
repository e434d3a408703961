// The attached eval suites' curves of a run: at each evaluation every suite's metrics (lm-evaluation-harness
// "metric,filter" keys, their stderr left to the comparison table), one chart per suite on the step axis.
// A row for a step already held (a resumed run evaluates those steps again) replaces it and what follows.

import type uPlot from 'uplot';
import type { MetricRow } from '../storage/records';

/** One suite's chart: its name, the metric names, and [steps, ...one column per metric]. */
export interface SuiteChart {
  suiteId: string;
  suiteName: string;
  metrics: string[];
  data: uPlot.AlignedData;
}

interface SuiteSeries {
  suiteName: string;
  metrics: string[];
  steps: number[];
  /** Per metric, aligned with steps (null where an evaluation lacked it). */
  values: (number | null)[][];
}

export class SuiteColumns {
  /** By suite id, in the order suites first appeared. */
  private readonly series = new Map<string, SuiteSeries>();

  add(row: MetricRow): void {
    if (row.kind !== 'eval' || !row.suites) return;
    for (const s of this.series.values()) keepBelow(s, row.step);
    for (const { suiteId, suiteName, scores } of row.suites) {
      let s = this.series.get(suiteId);
      if (!s) {
        s = { suiteName, metrics: [], steps: [], values: [] };
        this.series.set(suiteId, s);
      }
      for (const metric of Object.keys(scores)) {
        if (s.metrics.includes(metric)) continue;
        s.metrics.push(metric);
        s.values.push(s.steps.map(() => null));
      }
      s.steps.push(row.step);
      s.metrics.forEach((metric, i) => s.values[i].push(scores[metric]?.value ?? null));
    }
  }

  /** Copies of the columns (a few numbers per evaluation). */
  charts(): SuiteChart[] {
    return [...this.series.entries()]
      .filter(([, s]) => s.steps.length > 0)
      .map(([suiteId, s]) => ({ suiteId, suiteName: s.suiteName, metrics: [...s.metrics], data: [[...s.steps], ...s.values.map((v) => [...v])] as uPlot.AlignedData }));
  }
}

function keepBelow(s: SuiteSeries, step: number): void {
  let n = s.steps.length;
  while (n > 0 && s.steps[n - 1] >= step) n--;
  s.steps.length = n;
  for (const v of s.values) v.length = n;
}
