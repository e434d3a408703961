// GRPO's arithmetic in float64, as TRL's GRPOTrainer computes it (trl/trainer/grpo_trainer.py):
// - advantages in _generate_and_score_completions ("sum_then_normalize"): A = r - mean(group), divided by
//   (std + 1e-4) unless scale_rewards is "none"; std is the group's (scale_rewards "group") or the whole
//   generation batch's ("batch"), with Bessel's correction (trl/trainer/utils.py nanstd). A NaN reward is an
//   unscorable completion: left out of the means and stds (nanmean, nanstd), its advantage 0 (nan_to_num);
// - the per-token term in _compute_loss: ratio = exp(logp - logp_old), -min(ratio A, clamp(ratio, 1 - epsilon,
//   1 + epsilon_high) A), plus beta times the k3 estimate exp(ref - logp) - (ref - logp) - 1;
// - the clip statistics: low = ratio < 1 - epsilon with A < 0, high = ratio > 1 + epsilon_high with A > 0.

import type { ScaleRewards } from './grpo-config';

/** TRL adds this to the standard deviation before dividing. */
export const ADVANTAGE_EPS = 1e-4;

/** Mean of the values that are not NaN (torch.nanmean); NaN when every value is. */
function nanMean(values: ArrayLike<number>, from = 0, to = values.length): number {
  let s = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    if (Number.isNaN(values[i])) continue;
    s += values[i];
    n++;
  }
  return n > 0 ? s / n : NaN;
}

/**
 * Standard deviation with Bessel's correction (torch.std's default) over the values that are not NaN, as
 * TRL's nanstd; NaN when fewer than 2 are left.
 */
export function besselStd(values: ArrayLike<number>, from = 0, to = values.length): number {
  const m = nanMean(values, from, to);
  let s = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    if (Number.isNaN(values[i])) continue;
    s += (values[i] - m) ** 2;
    n++;
  }
  return n < 2 ? NaN : Math.sqrt(s / (n - 1));
}

export interface Advantages {
  /** (B*G) per completion. */
  advantages: Float64Array;
  /** (B*G) the standard deviation each completion was scaled by (the group's or the batch's; NaN with < 2 scored rewards). */
  std: Float64Array;
  /** Share of completions whose std is 0 (torch.isclose(std, 0): |std| <= 1e-8): TRL's frac_reward_zero_std. */
  fracZeroStd: number;
}

/** Group-relative advantages of `rewards` (B*G, consecutive groups of G; NaN: an unscorable completion). */
export function groupAdvantages(rewards: ArrayLike<number>, G: number, scale: ScaleRewards): Advantages {
  const n = rewards.length;
  if (!Number.isInteger(G) || G < 1 || n % G !== 0) throw new RangeError(`${n} rewards do not make groups of ${G}`);
  const advantages = new Float64Array(n);
  const std = new Float64Array(n);
  const batchStd = scale === 'batch' ? (n > 1 ? besselStd(rewards) : 0) : 0;
  let zero = 0;
  for (let g = 0; g < n; g += G) {
    const m = nanMean(rewards, g, g + G);
    // scale_rewards "none" still computes the group's std: frac_reward_zero_std reads it.
    const s = scale === 'batch' ? batchStd : G > 1 ? besselStd(rewards, g, g + G) : 0;
    for (let i = g; i < g + G; i++) {
      std[i] = s;
      const a = scale === 'none' ? rewards[i] - m : (rewards[i] - m) / (s + ADVANTAGE_EPS);
      advantages[i] = Number.isNaN(a) ? 0 : a;
      if (Math.abs(s) <= 1e-8) zero++;
    }
  }
  return { advantages, std, fracZeroStd: zero / n };
}

export interface TokenTermInput {
  /** log p(token) under the policy being trained. */
  logp: number;
  /** Under the policy that sampled it (equal to logp when num_iterations is 1). */
  oldLogp: number;
  /** Under the frozen reference; read only when beta > 0. */
  refLogp: number;
  advantage: number;
  epsilonLow: number;
  epsilonHigh: number;
  beta: number;
}

export interface TokenTerm {
  /** The token's loss before aggregation. */
  loss: number;
  /** d loss / d logp. */
  dLogp: number;
  /** k3 KL estimate (0 when beta is 0). */
  kl: number;
  lowClipped: boolean;
  highClipped: boolean;
}

/**
 * One completion token's clipped surrogate and KL term. The gradient flows through the unclipped branch
 * when it is the minimum (a tie gives the same value); through the clipped branch it is zero, since the
 * ratio is then outside the clamp's range.
 */
export function tokenTerm(x: TokenTermInput): TokenTerm {
  const ratio = Math.exp(x.logp - x.oldLogp);
  const clipped = Math.min(Math.max(ratio, 1 - x.epsilonLow), 1 + x.epsilonHigh);
  const unclippedTerm = ratio * x.advantage;
  const clippedTerm = clipped * x.advantage;
  let loss = -Math.min(unclippedTerm, clippedTerm);
  let dLogp = unclippedTerm <= clippedTerm ? -ratio * x.advantage : 0;
  let kl = 0;
  if (x.beta !== 0) {
    const d = x.refLogp - x.logp;
    kl = Math.exp(d) - d - 1;
    loss += x.beta * kl;
    dLogp += x.beta * (1 - Math.exp(d));
  }
  return {
    loss,
    dLogp,
    kl,
    lowClipped: ratio < 1 - x.epsilonLow && x.advantage < 0,
    highClipped: ratio > 1 + x.epsilonHigh && x.advantage > 0,
  };
}
