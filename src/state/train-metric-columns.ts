// Columns of an objective's own metrics (the `objective` record of metric rows, TRL's names) on one step
// axis: training rows give a point at their step, evaluation rows their eval_ values at theirs (beside the
// training row of the same step, or on a row of their own, as an evaluation before the first step is);
// null where a series has no point, which the charts bridge. Which metrics are kept is the caller's choice
// (a fixed list, or a pattern such as GRPO's per-function rewards), and rows without any of them leave the
// columns untouched, so an SFT run's rows give empty reward charts. A row for a step already held (a
// resumed run trains those steps again) replaces everything from that step on, as the other curves do.

import type uPlot from 'uplot';
import type { MetricRow } from '../storage/records';

export class MetricColumns {
  private readonly steps: number[] = [];
  /** By metric name as rows carry it (eval_ ones included), aligned with steps. */
  private readonly columns = new Map<string, (number | null)[]>();

  constructor(private readonly keeps: (metric: string) => boolean) {}

  /** The metric names seen so far, in first-seen order. */
  get names(): string[] {
    return [...this.columns.keys()];
  }

  get length(): number {
    return this.steps.length;
  }

  add(row: MetricRow): void {
    const values = Object.entries(row.objective ?? {}).filter(([name, v]) => this.keeps(name) && typeof v === 'number');
    if (values.length === 0) return;
    if (row.kind === 'step') {
      this.keepBelow(row.step);
      this.pushStep(row.step);
    } else {
      // An evaluation follows its step's training row (or comes before any training, at step 0).
      this.keepBelow(row.step + 1);
      if (this.steps.at(-1) !== row.step) this.pushStep(row.step);
    }
    const at = this.steps.length - 1;
    for (const [name, value] of values) this.column(name)[at] = value;
  }

  /** Copies of the steps and of the named columns (all null for a name never seen). */
  series(names: readonly string[]): uPlot.AlignedData {
    return [[...this.steps], ...names.map((n) => (this.columns.has(n) ? [...this.columns.get(n)!] : this.steps.map(() => null)))] as uPlot.AlignedData;
  }

  /** Whether any row carried this metric. */
  has(name: string): boolean {
    return this.columns.has(name);
  }

  private column(name: string): (number | null)[] {
    let c = this.columns.get(name);
    if (!c) {
      c = this.steps.map(() => null);
      this.columns.set(name, c);
    }
    return c;
  }

  private pushStep(step: number): void {
    this.steps.push(step);
    for (const c of this.columns.values()) c.push(null);
  }

  /** Drops the rows at `step` and after. */
  private keepBelow(step: number): void {
    let n = this.steps.length;
    while (n > 0 && this.steps[n - 1] >= step) n--;
    this.steps.length = n;
    for (const c of this.columns.values()) c.length = n;
  }
}
