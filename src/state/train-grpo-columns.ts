// The columns behind a GRPO run's charts, under TRL's GRPOTrainer metric names: the mean reward with its
// held-out value at each evaluation (reward, eval_reward), each reward function's mean
// (rewards/<name>/mean, and eval_), the completion lengths (completions/mean_length, min_length,
// max_length), the shares of completions cut at the length limit and of groups whose rewards are all
// equal (completions/clipped_ratio, frac_reward_zero_std), kl (only with beta > 0), entropy and the clip
// ratios (clip_ratio/low_mean, high_mean, region_mean). Other methods' rows carry none of them.

import type uPlot from 'uplot';
import type { MetricRow } from '../storage/records';
import { MetricColumns } from './train-metric-columns';

export interface GrpoCharts {
  /** The reward functions' names, in the order they first appeared. */
  functions: string[];
  /** step, reward, eval_reward */
  reward: uPlot.AlignedData;
  /** step, each function's rewards/<name>/mean, then each one's eval_rewards/<name>/mean */
  perFunction: uPlot.AlignedData;
  /** step, mean, min and max completion length, eval mean length */
  length: uPlot.AlignedData;
  /** step, completions/clipped_ratio, frac_reward_zero_std */
  shares: uPlot.AlignedData;
  /** step, kl, eval_kl; null when no row had a KL term (beta 0) */
  kl: uPlot.AlignedData | null;
  /** step, entropy, eval_entropy */
  entropy: uPlot.AlignedData;
  /** step, clip_ratio/region_mean, low_mean, high_mean */
  clip: uPlot.AlignedData;
}

const FUNCTION_MEAN = /^(?:eval_)?rewards\/(.+)\/mean$/;
const FIXED = new Set([
  'reward',
  'completions/mean_length',
  'completions/min_length',
  'completions/max_length',
  'completions/clipped_ratio',
  'frac_reward_zero_std',
  'kl',
  'entropy',
  'clip_ratio/region_mean',
  'clip_ratio/low_mean',
  'clip_ratio/high_mean',
]);

const bare = (name: string) => (name.startsWith('eval_') ? name.slice(5) : name);

export class GrpoColumns {
  private readonly columns = new MetricColumns((name) => FIXED.has(bare(name)) || FUNCTION_MEAN.test(name));

  add(row: MetricRow): void {
    this.columns.add(row);
  }

  /** Copies of the charted columns (a few dozen numbers per step). */
  charts(): GrpoCharts {
    const c = this.columns;
    const functions = [...new Set(c.names.map((n) => FUNCTION_MEAN.exec(n)?.[1]).filter((n): n is string => n !== undefined))];
    return {
      functions,
      reward: c.series(['reward', 'eval_reward']),
      perFunction: c.series([...functions.map((f) => `rewards/${f}/mean`), ...functions.map((f) => `eval_rewards/${f}/mean`)]),
      length: c.series(['completions/mean_length', 'completions/min_length', 'completions/max_length', 'eval_completions/mean_length']),
      shares: c.series(['completions/clipped_ratio', 'frac_reward_zero_std']),
      kl: c.has('kl') || c.has('eval_kl') ? c.series(['kl', 'eval_kl']) : null,
      entropy: c.series(['entropy', 'eval_entropy']),
      clip: c.series(['clip_ratio/region_mean', 'clip_ratio/low_mean', 'clip_ratio/high_mean']),
    };
  }
}
