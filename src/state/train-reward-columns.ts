// The reward columns of a DPO, SimPO or ORPO run's charts: per training step TRL's rewards/margins and
// rewards/accuracies, and at each evaluation their eval_ values, on one step axis (train-metric-columns.ts:
// null where a series has no point; rows of SFT runs carry no rewards and leave the columns empty; a
// resumed run's repeated steps replace what followed).

import type uPlot from 'uplot';
import type { MetricRow } from '../storage/records';
import { MetricColumns } from './train-metric-columns';

/** Each chart: step, the training series, the evaluation series. */
export interface RewardCharts {
  margins: uPlot.AlignedData;
  accuracies: uPlot.AlignedData;
}

const MARGINS = 'rewards/margins';
const ACCURACIES = 'rewards/accuracies';
const KEPT = new Set([MARGINS, ACCURACIES, `eval_${MARGINS}`, `eval_${ACCURACIES}`]);

export class RewardColumns {
  private readonly columns = new MetricColumns((name) => KEPT.has(name));

  add(row: MetricRow): void {
    this.columns.add(row);
  }

  /** Copies of the columns (a few numbers per step: cheap next to a training step). */
  charts(): RewardCharts {
    return {
      margins: this.columns.series([MARGINS, `eval_${MARGINS}`]),
      accuracies: this.columns.series([ACCURACIES, `eval_${ACCURACIES}`]),
    };
  }
}
