// TRL's generation-time metrics of a batch of scored groups (GRPOTrainer._generate_and_score_completions):
// reward and reward_std over all completions, rewards/<name>/mean and /std per function, frac_reward_zero_std,
// completions/{mean,min,max}_length, completions/clipped_ratio and the lengths of the completions that
// terminated (0 when none did, as TRL's edge case), and entropy. reward_errors (ours) counts reward calls
// that failed and gave 0.

import { besselStd } from './grpo-math';
import type { ScoredBatch } from './rollout-source';

function stats(values: readonly number[]): { mean: number; min: number; max: number } {
  if (values.length === 0) return { mean: 0, min: 0, max: 0 };
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, min: Math.min(...values), max: Math.max(...values) };
}

function meanStd(values: Float64Array): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const std = besselStd(values);
  return { mean, std: Number.isFinite(std) ? std : 0 };
}

export function concat(arrays: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** The metrics under TRL's names (held-out rollouts take objective.ts evalNames). */
export function rolloutMetrics(batch: ScoredBatch, fracZeroStd: number | undefined): Record<string, number> {
  const completions = batch.groups.flatMap((g) => g.completions);
  const lengths = completions.map((c) => c.tokens.length);
  const terminated = completions.filter((c) => !c.truncated).map((c) => c.tokens.length);
  const total = meanStd(concat(batch.groups.map((g) => g.rewards)));
  const m: Record<string, number> = { reward: total.mean, reward_std: total.std };
  const names = Object.keys(batch.groups[0]?.perFunction ?? {});
  for (const name of names) {
    const s = meanStd(concat(batch.groups.map((g) => g.perFunction[name])));
    m[`rewards/${name}/mean`] = s.mean;
    m[`rewards/${name}/std`] = s.std;
  }
  if (fracZeroStd !== undefined) m.frac_reward_zero_std = fracZeroStd;
  const all = stats(lengths);
  const term = stats(terminated);
  m['completions/mean_length'] = all.mean;
  m['completions/min_length'] = all.min;
  m['completions/max_length'] = all.max;
  m['completions/clipped_ratio'] = completions.length ? (completions.length - terminated.length) / completions.length : 0;
  m['completions/mean_terminated_length'] = term.mean;
  m['completions/min_terminated_length'] = term.min;
  m['completions/max_terminated_length'] = term.max;
  if (batch.entropy !== undefined) m.entropy = batch.entropy;
  m.reward_errors = batch.failures.length;
  return m;
}
