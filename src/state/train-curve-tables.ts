// The columns behind one run's charts, built from its metric rows: per step the training loss (raw and
// EMA-smoothed), learning rate, gradient norm and tokens/s; per evaluation the eval loss and its sample
// generations (GRPO: its held-out rollouts); for the preference methods the reward margins and accuracies
// (train-reward-columns.ts); for GRPO its rewards, lengths, kl, entropy and clip ratios (train-grpo-columns.ts);
// the attached eval suites' metrics (train-suite-columns.ts). Rows append in O(1) amortised. A row for a step already held (a run resumed from an earlier
// checkpoint trains those steps again) replaces that step and everything after it, so a curve never holds
// a step twice.

import type uPlot from 'uplot';
import { GrowableTable } from '../ui/charts/growable-table';
import type { MetricRow, StoredRollouts } from '../storage/records';
import { GrpoColumns, type GrpoCharts } from './train-grpo-columns';
import { RewardColumns, type RewardCharts } from './train-reward-columns';
import { SuiteColumns, type SuiteChart } from './train-suite-columns';
import { Ema, smoothSeries } from './train-smoothing';

const STEP = 0;
const LOSS = 1;
const SMOOTHED = 2;
const LR = 3;
const GRAD_NORM = 4;
const TOKENS_PER_S = 5;

export interface EvalSamples {
  step: number;
  evalLoss: number;
  samples: { prompt: string; text: string }[];
  /** GRPO: the held-out prompts' scored completions. */
  rollouts?: StoredRollouts;
  /** GRPO: the held-out mean reward (eval_reward). */
  reward?: number;
}

/** Each chart's data as views on the columns (no copy). */
export interface StepCharts {
  /** step, loss, smoothed */
  loss: uPlot.AlignedData;
  lr: uPlot.AlignedData;
  gradNorm: uPlot.AlignedData;
  tokensPerS: uPlot.AlignedData;
}

export class CurveTables {
  private steps = new GrowableTable(6);
  private evals = new GrowableTable(2);
  /** Oldest first. */
  private evalSamples: EvalSamples[] = [];
  private readonly rewards = new RewardColumns();
  private readonly grpo = new GrpoColumns();
  private readonly suites = new SuiteColumns();
  private ema: Ema;

  constructor(private factor: number) {
    this.ema = new Ema(factor);
  }

  get smoothing(): number {
    return this.factor;
  }

  /** Last step with metrics (0: none). */
  get lastStep(): number {
    return this.steps.length > 0 ? this.steps.last(STEP) : 0;
  }

  add(row: MetricRow): void {
    this.rewards.add(row);
    this.grpo.add(row);
    this.suites.add(row);
    if (row.kind === 'step') {
      const kept = this.steps.countBelow(row.step);
      if (kept < this.steps.length) {
        this.steps.truncate(kept);
        this.resmooth();
      }
      this.steps.push([row.step, row.loss, this.ema.next(row.loss), row.lr, row.grad_norm, row.tokens_per_s]);
      return;
    }
    this.evals.truncate(this.evals.countBelow(row.step));
    this.evals.push([row.step, row.eval_loss]);
    while (this.evalSamples.length > 0 && this.evalSamples[this.evalSamples.length - 1].step >= row.step) this.evalSamples.pop();
    const reward = row.objective?.eval_reward;
    this.evalSamples.push({ step: row.step, evalLoss: row.eval_loss, samples: row.samples, ...(row.rollouts && { rollouts: row.rollouts }), ...(reward !== undefined && { reward }) });
  }

  /** A new smoothing factor in [0, 1): the smoothed column is recomputed once. */
  setSmoothing(factor: number): void {
    this.factor = factor;
    this.resmooth();
  }

  stepCharts(): StepCharts {
    const t = this.steps;
    const x = t.column(STEP);
    return {
      loss: [x, t.column(LOSS), t.column(SMOOTHED)],
      lr: [x, t.column(LR)],
      gradNorm: [x, t.column(GRAD_NORM)],
      tokensPerS: [x, t.column(TOKENS_PER_S)],
    };
  }

  evalChart(): uPlot.AlignedData {
    return this.evals.view();
  }

  rewardCharts(): RewardCharts {
    return this.rewards.charts();
  }

  grpoCharts(): GrpoCharts {
    return this.grpo.charts();
  }

  suiteCharts(): SuiteChart[] {
    return this.suites.charts();
  }

  /** Newest first. */
  samples(): EvalSamples[] {
    return this.evalSamples.toReversed();
  }

  /** Recomputes the smoothed column and leaves the EMA at its end. */
  private resmooth(): void {
    const loss = this.steps.column(LOSS);
    this.steps.setColumn(SMOOTHED, smoothSeries(loss, this.factor));
    this.ema = new Ema(this.factor);
    for (const v of loss) this.ema.next(v);
  }
}
