// GRPO's float64 arithmetic against TRL's GRPOTrainer (trl/trainer/grpo_trainer.py): group-relative advantages
// of _generate_and_score_completions (Bessel std from trl/trainer/utils.py nanstd, + 1e-4, frac_reward_zero_std
// by torch.isclose), the per-token clipped surrogate with the k3 KL of _compute_loss (value, d/d logp by
// central differences, is_low_clipped / is_high_clipped), and GRPOConfig's defaults and refusals.

import { describe, expect, test } from 'vitest';
import { GRPO_DEFAULTS, grpoConfig, validateGrpoConfig } from '../../src/engine/train/grpo/grpo-config';
import { ADVANTAGE_EPS, besselStd, groupAdvantages, tokenTerm, type TokenTermInput } from '../../src/engine/train/grpo/grpo-math';

function expectAll(actual: Float64Array, expected: number[], digits = 12): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i], `element ${i}`).toBeCloseTo(e, digits));
}

describe('groupAdvantages (TRL sum_then_normalize)', () => {
  // Two groups of G = 3: [1, 2, 4] (mean 7/3, Bessel variance (16 + 1 + 25) / 9 / 2 = 7/3) and [2, 2, 2] (std 0).
  const rewards = [1, 2, 4, 2, 2, 2];
  const groupStd = Math.sqrt(7 / 3);
  const centred = [1 - 7 / 3, 2 - 7 / 3, 4 - 7 / 3, 0, 0, 0];

  test('scale_rewards "group": (r - group mean) / (group std + 1e-4); a constant group gives 0 and counts as zero std', () => {
    const a = groupAdvantages(rewards, 3, 'group');
    expect(ADVANTAGE_EPS).toBe(1e-4);
    expectAll(a.advantages, centred.map((c, i) => (i < 3 ? c / (groupStd + 1e-4) : 0)));
    expectAll(a.std, [groupStd, groupStd, groupStd, 0, 0, 0]);
    expect(a.fracZeroStd).toBe(0.5);
  });

  test('scale_rewards "batch": the group mean, but the whole batch std (Bessel: sqrt(29/30) here)', () => {
    // Deviations from the batch mean 13/6: -7, -1, 11, -1, -1, -1 (sixths): sum of squares 174/36, / 5 = 29/30.
    const batchStd = Math.sqrt(29 / 30);
    const a = groupAdvantages(rewards, 3, 'batch');
    expectAll(a.advantages, centred.map((c) => c / (batchStd + 1e-4)));
    expectAll(a.std, rewards.map(() => batchStd));
    expect(a.fracZeroStd).toBe(0);
  });

  test('scale_rewards "none": r - group mean unscaled; frac_reward_zero_std still from the group std', () => {
    const a = groupAdvantages(rewards, 3, 'none');
    expectAll(a.advantages, centred);
    expect(a.fracZeroStd).toBe(0.5);
  });

  test('zero std is torch.isclose(std, 0): |std| <= 1e-8, so a group differing by 1e-9 counts; one differing by 1e-6 does not', () => {
    expect(groupAdvantages([1, 1 + 1e-9, 5, 5 + 1e-6], 2, 'group').fracZeroStd).toBe(0.5);
  });

  test('a NaN reward (unscorable) is left out of the group mean and std, and its advantage is 0 (nanmean, nanstd, nan_to_num)', () => {
    // Group [1, NaN, 3]: mean 2, std sqrt(2); group [NaN, 4, NaN]: one scored value, std NaN: advantages 0.
    const a = groupAdvantages([1, NaN, 3, NaN, 4, NaN], 3, 'group');
    const s = Math.SQRT2;
    expectAll(a.advantages, [-1 / (s + 1e-4), 0, 1 / (s + 1e-4), 0, 0, 0]);
    expect(a.fracZeroStd).toBe(0);
    expect(Number.isNaN(a.std[3])).toBe(true);
    expectAll(groupAdvantages([1, NaN, 3, NaN, 4, NaN], 3, 'none').advantages, [-1, 0, 1, 0, 0, 0]);
  });

  test('besselStd divides by n - 1 and is NaN below 2 values', () => {
    expect(besselStd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(besselStd([3, 5], 0, 2)).toBeCloseTo(Math.SQRT2, 14);
    expect(Number.isNaN(besselStd([3]))).toBe(true);
  });

  test('rewards that do not make whole groups are refused', () => {
    expect(() => groupAdvantages([1, 2, 3], 2, 'group')).toThrow(/3 rewards do not make groups of 2/);
  });
});

/** TRL's per-token loss written out: -min(r A, clamp(r, 1 - eps_low, 1 + eps_high) A) + beta k3. */
function trlTokenLoss(x: TokenTermInput): number {
  const r = Math.exp(x.logp - x.oldLogp);
  const clamped = Math.min(Math.max(r, 1 - x.epsilonLow), 1 + x.epsilonHigh);
  const surrogate = -Math.min(r * x.advantage, clamped * x.advantage);
  const d = x.refLogp - x.logp;
  return surrogate + x.beta * (Math.exp(d) - d - 1);
}

describe('tokenTerm (TRL _compute_loss, importance_sampling_level "token")', () => {
  const base = { refLogp: -0.9, epsilonLow: 0.2, epsilonHigh: 0.28 };
  // log ratio = logp - oldLogp: 0.05 inside [ln 0.8, ln 1.28] = [-0.223, 0.247]; -0.5 below; 0.45 above.
  const cases: { name: string; x: Omit<TokenTermInput, 'beta'>; low: boolean; high: boolean; flows: boolean }[] = [
    { name: 'ratio inside, A > 0', x: { ...base, logp: -1.2, oldLogp: -1.25, advantage: 0.7 }, low: false, high: false, flows: true },
    { name: 'ratio inside, A < 0', x: { ...base, logp: -1.2, oldLogp: -1.25, advantage: -0.7 }, low: false, high: false, flows: true },
    { name: 'ratio above 1 + eps_high, A > 0 (high clipped)', x: { ...base, logp: -0.8, oldLogp: -1.25, advantage: 0.8 }, low: false, high: true, flows: false },
    { name: 'ratio above 1 + eps_high, A < 0 (unclipped branch is the min)', x: { ...base, logp: -0.8, oldLogp: -1.25, advantage: -0.8 }, low: false, high: false, flows: true },
    { name: 'ratio below 1 - eps_low, A < 0 (low clipped)', x: { ...base, logp: -1.75, oldLogp: -1.25, advantage: -0.6 }, low: true, high: false, flows: false },
    { name: 'ratio below 1 - eps_low, A > 0 (unclipped branch is the min)', x: { ...base, logp: -1.75, oldLogp: -1.25, advantage: 0.6 }, low: false, high: false, flows: true },
    { name: 'A = 0', x: { ...base, logp: -1.75, oldLogp: -1.25, advantage: 0 }, low: false, high: false, flows: true },
  ];
  const H = 1e-6;

  for (const beta of [0, 0.04]) {
    for (const c of cases) {
      test(`${c.name}, beta ${beta}: value, flags and d/d logp by central differences`, () => {
        const x = { ...c.x, beta };
        const term = tokenTerm(x);
        expect(term.loss).toBeCloseTo(trlTokenLoss(x), 14);
        expect(term.lowClipped).toBe(c.low);
        expect(term.highClipped).toBe(c.high);
        const d = x.refLogp - x.logp;
        expect(term.kl).toBe(beta === 0 ? 0 : Math.exp(d) - d - 1);
        const fd = (trlTokenLoss({ ...x, logp: x.logp + H }) - trlTokenLoss({ ...x, logp: x.logp - H })) / (2 * H);
        expect(Math.abs(term.dLogp - fd)).toBeLessThan(1e-8 * Math.max(1, Math.abs(fd)));
        // Through a clipped branch only the KL term's gradient is left: beta (1 - exp(ref - logp)).
        const klGrad = beta * (1 - Math.exp(d));
        if (c.flows) expect(term.dLogp).toBeCloseTo(-Math.exp(x.logp - x.oldLogp) * x.advantage + klGrad, 14);
        else expect(term.dLogp).toBeCloseTo(klGrad, 15);
      });
    }
  }

  test('hand values: the high-clipped token costs -(1 + eps_high) A whatever its ratio; ratio 1 costs -A', () => {
    const high = { ...base, beta: 0, oldLogp: -1.25, advantage: 0.8 };
    expect(tokenTerm({ ...high, logp: -0.8 }).loss).toBeCloseTo(-1.28 * 0.8, 15);
    expect(tokenTerm({ ...high, logp: -0.5 }).loss).toBeCloseTo(-1.28 * 0.8, 15);
    const same = tokenTerm({ ...base, beta: 0, logp: -2, oldLogp: -2, advantage: -1.5 });
    expect(same.loss).toBe(1.5);
    expect(same.dLogp).toBe(1.5);
  });
});

describe('GRPO config (TRL GRPOConfig)', () => {
  test("defaults are TRL's; epsilon_high follows epsilon and num_generations_eval follows num_generations unless given", () => {
    expect(grpoConfig()).toEqual(GRPO_DEFAULTS);
    expect(GRPO_DEFAULTS).toMatchObject({ numGenerations: 8, maxCompletionLength: 512, temperature: 1, topP: 1, topK: 0, beta: 0, numIterations: 1, epsilon: 0.2, epsilonHigh: 0.2, lossType: 'dapo', scaleRewards: 'group', maskTruncatedCompletions: false });
    expect(grpoConfig({ epsilon: 0.3 }).epsilonHigh).toBe(0.3);
    expect(grpoConfig({ epsilon: 0.3, epsilonHigh: 0.28 }).epsilonHigh).toBe(0.28);
    expect(grpoConfig({ numGenerations: 4 }).numGenerationsEval).toBe(4);
    expect(grpoConfig({ numGenerations: 4, numGenerationsEval: 2 }).numGenerationsEval).toBe(2);
    // A field present but undefined takes its default.
    expect(grpoConfig({ beta: undefined, epsilonHigh: undefined, lossType: undefined })).toEqual(GRPO_DEFAULTS);
  });

  const refusals: [Partial<typeof GRPO_DEFAULTS>, RegExp][] = [
    [{ numGenerations: 1 }, /num_generations must be an integer >= 2, got 1/],
    [{ numGenerations: 2.5 }, /num_generations must be an integer/],
    [{ numGenerationsEval: 0 }, /num_generations_eval must be an integer >= 1, got 0/],
    [{ maxCompletionLength: 0 }, /max_completion_length must be an integer >= 1/],
    [{ numIterations: 0 }, /num_iterations must be an integer >= 1/],
    [{ topK: -1 }, /top_k must be an integer >= 0/],
    [{ temperature: 0 }, /temperature must be a number above 0/],
    [{ topP: 0 }, /top_p must be in \(0, 1\], got 0/],
    [{ topP: 1.5 }, /top_p must be in \(0, 1\]/],
    [{ beta: -0.1 }, /beta must be a number >= 0, got -0.1/],
    [{ epsilon: 1 }, /epsilon must be in \(0, 1\), got 1/],
    [{ epsilonHigh: 0 }, /epsilon_high must be a number above 0, got 0/],
    [{ lossType: 'ppo' as never }, /unknown loss_type "ppo" \(grpo, bnpo, dr_grpo, dapo\)/],
    [{ scaleRewards: 'std' as never }, /unknown scale_rewards "std" \(group, batch, none\)/],
    [{ stopStrings: ['</answer>', ''] }, /stop string 2 is empty/],
  ];
  for (const [settings, message] of refusals) {
    test(`refuses ${JSON.stringify(settings)} naming the field`, () => {
      expect(() => grpoConfig(settings)).toThrow(message);
      expect(() => validateGrpoConfig({ ...GRPO_DEFAULTS, ...settings })).toThrow(message);
    });
  }
});
