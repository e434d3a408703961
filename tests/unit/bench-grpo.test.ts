// The GRPO bench's arithmetic (bench/core/grpo-workloads.ts): seeded prompts, one step's time split by the
// training loop's and the rollout feed's metrics, and the totals and ratios the report prints.

import { describe, expect, it } from 'vitest';
import { randomPrompts, splitGrpoStep, summariseGrpo } from '../../bench/core/grpo-workloads';
import type { GrpoStepSample } from '../../bench/core/types';
import type { StepMetrics } from '../../src/engine/train/train-loop';

function metrics(step: number, tokens: number, stepS: number, objective: Record<string, number>): StepMetrics {
  return { step, loss: 0.5, lr: 2e-4, grad_norm: 1, tokens, trained_tokens: tokens / 2, tokens_per_s: tokens / stepS, epoch: 1, objective };
}

function sample(stepS: number, rolloutS: number, rewardS: number, generatedTokens: number, tokens: number): GrpoStepSample {
  return { step: 1, stepS, rolloutS, rewardS, trainS: stepS - rolloutS - rewardS, generatedTokens, tokens, trainedTokens: tokens / 2, loss: 0, reward: 0 };
}

describe('GRPO bench prompts', () => {
  it('draws the same prompts for the same seed, BOS first, ids inside the vocabulary', () => {
    const a = randomPrompts(3, 8, 512, 1);
    expect(randomPrompts(3, 8, 512, 1)).toEqual(a);
    expect(randomPrompts(3, 8, 512, 1, 2)).not.toEqual(a);
    expect(a).toHaveLength(3);
    for (const p of a) {
      expect(p).toHaveLength(8);
      expect(p[0]).toBe(1);
      expect(p.every((id) => Number.isInteger(id) && id >= 0 && id < 512)).toBe(true);
    }
    // Without a BOS the first id is random too.
    expect(new Set(randomPrompts(4, 3, 49152, undefined).map((p) => p[0])).size).toBeGreaterThan(1);
    expect(() => randomPrompts(1, 0, 512, 1)).toThrow(/at least 1 token/);
  });
});

describe('GRPO step split', () => {
  it('takes the step time from tokens / tokens_per_s and leaves training what rollouts and rewards do not use', () => {
    // 8 completions x (8 prompt + 32 completion) = 320 positions in a 10 s step; 256 tokens sampled in 6 s.
    const s = splitGrpoStep(metrics(3, 320, 10, { rollout_seconds: 6, reward_seconds: 0.5, rollout_tokens_per_s: 256 / 6, reward: 0.25 }));
    expect(s.step).toBe(3);
    expect(s.stepS).toBeCloseTo(10, 12);
    expect(s.rolloutS).toBe(6);
    expect(s.rewardS).toBe(0.5);
    expect(s.trainS).toBeCloseTo(3.5, 12);
    expect(s.generatedTokens).toBe(256);
    expect(s.tokens).toBe(320);
    expect(s.trainedTokens).toBe(160);
    expect(s.reward).toBe(0.25);
  });

  it('counts no generated tokens when the feed reported no rollout rate (fixed completions)', () => {
    expect(splitGrpoStep(metrics(1, 100, 2, { rollout_seconds: 0, reward_seconds: 0 })).generatedTokens).toBe(0);
  });

  it('refuses metrics that are missing or do not fit in the step', () => {
    expect(() => splitGrpoStep(metrics(2, 100, 2, { reward_seconds: 0 }))).toThrow(/step 2: metric rollout_seconds is undefined/);
    expect(() => splitGrpoStep(metrics(2, 100, 2, { rollout_seconds: -1, reward_seconds: 0 }))).toThrow(/rollout_seconds is -1/);
    expect(() => splitGrpoStep(metrics(2, 100, 2, { rollout_seconds: 1.5, reward_seconds: 0.5 }))).toThrow(/do not fit in the step's 2 s/);
    expect(() => splitGrpoStep({ ...metrics(2, 100, 2, { rollout_seconds: 0, reward_seconds: 0 }), tokens_per_s: 0 })).toThrow(/0 tokens\/s/);
  });
});

describe('GRPO summary', () => {
  it('divides sums over the timed steps and compares the rollouts with greedy decoding', () => {
    const steps = [sample(10, 6, 1, 240, 300), sample(5, 2, 0, 120, 100)];
    const s = summariseGrpo(steps, [
      { seconds: 2, tokens: 256 },
      { seconds: 6, tokens: 256 },
    ]);
    expect(s.meanStepS).toBeCloseTo(7.5, 12);
    expect(s.rolloutTokensPerS).toBeCloseTo(360 / 8, 12);
    // Training: (10 - 6 - 1) + (5 - 2 - 0) = 6 s for 400 positions, 200 of them labelled.
    expect(s.trainTokensPerS).toBeCloseTo(400 / 6, 12);
    expect(s.trainedTokensPerS).toBeCloseTo(200 / 6, 12);
    expect(s.generationShare).toBeCloseTo(8 / 15, 12);
    expect(s.rewardShare).toBeCloseTo(1 / 15, 12);
    expect(s.trainShare).toBeCloseTo(6 / 15, 12);
    expect(s.generationShare + s.rewardShare + s.trainShare).toBeCloseTo(1, 12);
    expect(s.decodeTokensPerS).toBeCloseTo(512 / 8, 12);
    expect(s.rolloutVsDecode).toBeCloseTo(45 / 64, 12);
    // Fastest step: 120 tokens in 2 s = 60/s; fastest greedy run: 128/s.
    expect(s.bestRolloutVsDecode).toBeCloseTo(60 / 128, 12);
  });

  it('needs timed steps and greedy runs', () => {
    expect(() => summariseGrpo([], [{ seconds: 1, tokens: 1 }])).toThrow(/timed steps and timed greedy runs/);
    expect(() => summariseGrpo([sample(1, 0.5, 0, 10, 10)], [])).toThrow(/timed steps and timed greedy runs/);
  });
});
