// Two runs' curves on one chart: each run's smoothed training loss and its eval loss, aligned on the union
// of their steps (null where a run has no point at that step, which the chart bridges).

import type uPlot from 'uplot';
import type { MetricRow } from '../storage/records';
import { smoothSeries } from './train-smoothing';

export interface ComparedRun {
  name: string;
  rows: readonly MetricRow[];
}

/** Series of (step, value) pairs aligned on the sorted union of their steps, uPlot's layout. */
export function alignSeries(series: readonly { x: ArrayLike<number>; y: ArrayLike<number> }[]): uPlot.AlignedData {
  const steps = [...new Set(series.flatMap((s) => Array.from(s.x)))].sort((a, b) => a - b);
  const index = new Map(steps.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const col: (number | null)[] = new Array<number | null>(steps.length).fill(null);
    for (let i = 0; i < s.x.length; i++) col[index.get(s.x[i]) as number] = s.y[i];
    return col;
  });
  return [steps, ...columns];
}

export function compareCurves(runs: readonly ComparedRun[], smoothing: number): { data: uPlot.AlignedData; labels: string[] } {
  const series: { x: number[]; y: ArrayLike<number> }[] = [];
  const labels: string[] = [];
  for (const run of runs) {
    const steps = run.rows.filter((r) => r.kind === 'step');
    series.push({ x: steps.map((r) => r.step), y: smoothSeries(steps.map((r) => r.loss), smoothing) });
    labels.push(`${run.name}: loss (smoothed)`);
  }
  for (const run of runs) {
    const evals = run.rows.filter((r) => r.kind === 'eval');
    series.push({ x: evals.map((r) => r.step), y: evals.map((r) => r.eval_loss) });
    labels.push(`${run.name}: eval loss`);
  }
  return { data: alignSeries(series), labels };
}
