// The reward columns of a DPO, SimPO or ORPO run's charts: per training step TRL's rewards/margins and
// rewards/accuracies, and at each evaluation their eval_ values, on one step axis (null where a series has
// no point, which the chart bridges; an evaluation before the first step has a row of its own). Rows of SFT
// runs carry no rewards and leave the columns empty. A row for a step already held (a resumed run trains
// those steps again) replaces everything after that step, as the other curves do.

import type uPlot from 'uplot';
import type { MetricRow } from '../storage/records';

/** Each chart: step, the training series, the evaluation series. */
export interface RewardCharts {
  margins: uPlot.AlignedData;
  accuracies: uPlot.AlignedData;
}

const MARGINS = 'rewards/margins';
const ACCURACIES = 'rewards/accuracies';

export class RewardColumns {
  private readonly steps: number[] = [];
  private readonly margins: (number | null)[] = [];
  private readonly accuracies: (number | null)[] = [];
  private readonly evalMargins: (number | null)[] = [];
  private readonly evalAccuracies: (number | null)[] = [];

  add(row: MetricRow): void {
    const o = row.objective ?? {};
    const prefix = row.kind === 'eval' ? 'eval_' : '';
    const margin = o[`${prefix}${MARGINS}`];
    const accuracy = o[`${prefix}${ACCURACIES}`];
    if (margin === undefined && accuracy === undefined) return;
    if (row.kind === 'step') {
      this.keepBelow(row.step);
      this.push(row.step, [margin ?? null, accuracy ?? null, null, null]);
      return;
    }
    // An evaluation follows its step's training row (or comes before any training, at step 0).
    this.keepBelow(row.step + 1);
    if (this.steps.at(-1) === row.step) {
      this.evalMargins[this.steps.length - 1] = margin ?? null;
      this.evalAccuracies[this.steps.length - 1] = accuracy ?? null;
    } else {
      this.push(row.step, [null, null, margin ?? null, accuracy ?? null]);
    }
  }

  /** Copies of the columns (a few numbers per step: cheap next to a training step). */
  charts(): RewardCharts {
    const x = [...this.steps];
    return { margins: [x, [...this.margins], [...this.evalMargins]], accuracies: [x, [...this.accuracies], [...this.evalAccuracies]] };
  }

  private push(step: number, values: [number | null, number | null, number | null, number | null]): void {
    this.steps.push(step);
    this.margins.push(values[0]);
    this.accuracies.push(values[1]);
    this.evalMargins.push(values[2]);
    this.evalAccuracies.push(values[3]);
  }

  /** Drops the rows at `step` and after. */
  private keepBelow(step: number): void {
    let n = this.steps.length;
    while (n > 0 && this.steps[n - 1] >= step) n--;
    for (const column of [this.steps, this.margins, this.accuracies, this.evalMargins, this.evalAccuracies]) column.length = n;
  }
}
