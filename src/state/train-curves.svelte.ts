// One run's curves as the charts read them: $state.raw snapshots of CurveTables, replaced (never mutated)
// after every row, so a chart redraws from views of the same growing columns at no copying cost.

import type uPlot from 'uplot';
import type { MetricRow } from '../storage/records';
import { CurveTables, type EvalSamples, type StepCharts } from './train-curve-tables';
import type { GrpoCharts } from './train-grpo-columns';
import type { RewardCharts } from './train-reward-columns';
import type { SuiteChart } from './train-suite-columns';

export type { EvalSamples, GrpoCharts, RewardCharts, StepCharts, SuiteChart };

export const DEFAULT_SMOOTHING = 0.6;

export class RunCurves {
  /** Weight of the past in the EMA of the training loss, shown with the chart. */
  smoothing = $state(DEFAULT_SMOOTHING);
  steps = $state.raw<StepCharts>(new CurveTables(DEFAULT_SMOOTHING).stepCharts());
  evalLoss = $state.raw<uPlot.AlignedData>(new CurveTables(DEFAULT_SMOOTHING).evalChart());
  /** Sample generations of each evaluation, newest first. */
  samples = $state.raw<EvalSamples[]>([]);
  /** DPO, SimPO, ORPO: reward margins and accuracies (empty for SFT). */
  rewards = $state.raw<RewardCharts>(new CurveTables(DEFAULT_SMOOTHING).rewardCharts());
  /** GRPO: rewards (overall and per function), completion lengths, kl, entropy, clip ratios (empty for the others). */
  grpo = $state.raw<GrpoCharts>(new CurveTables(DEFAULT_SMOOTHING).grpoCharts());
  /** The attached eval suites' metrics at each evaluation, one chart per suite. */
  suites = $state.raw<SuiteChart[]>([]);

  private tables = new CurveTables(DEFAULT_SMOOTHING);

  /** Replaces everything with a run's stored rows (in step order). */
  reset(rows: readonly MetricRow[] = []): void {
    this.tables = new CurveTables(this.smoothing);
    for (const row of rows) this.tables.add(row);
    this.publishSteps();
    this.publishEvals();
  }

  append(row: MetricRow): void {
    this.tables.add(row);
    if (row.kind === 'step') this.publishSteps();
    else this.publishEvals();
  }

  setSmoothing(factor: number): void {
    if (!(factor >= 0 && factor < 1)) return;
    this.smoothing = factor;
    this.tables.setSmoothing(factor);
    this.publishSteps();
  }

  private publishSteps(): void {
    this.steps = this.tables.stepCharts();
    this.rewards = this.tables.rewardCharts();
    this.grpo = this.tables.grpoCharts();
  }

  private publishEvals(): void {
    this.evalLoss = this.tables.evalChart();
    this.samples = this.tables.samples();
    this.rewards = this.tables.rewardCharts();
    this.grpo = this.tables.grpoCharts();
    this.suites = this.tables.suiteCharts();
  }
}
