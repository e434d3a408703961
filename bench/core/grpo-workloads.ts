// The GRPO bench's arithmetic (grpo-bench.ts runs it): seeded prompts, and what one GRPO step's metrics say
// about where its time went. The training loop (src/engine/train/train-loop.ts) times each step from the
// feed's next() (rollouts sampled and scored) to the loss computed after the optimizer, and reports
// tokens / that time as tokens_per_s; the rollout feed adds rollout_seconds (sampling, batched decode of
// every completion), rollout_tokens_per_s (generated tokens / those seconds) and reward_seconds (the reward
// functions). What is left of the step is training: packing, the forward and backward over prompt +
// completion, clipping and AdamW, the loss read back.

import type { StepMetrics } from '../../src/engine/train/train-loop';
import { Rng } from '../../src/engine/util/rng';
import type { DecodeSample, GrpoStepSample, GrpoSummary } from './types';

/** `count` prompts of `length` random ids in [0, V), BOS first when the model has one; the same for the same seed. */
export function randomPrompts(count: number, length: number, V: number, bos: number | undefined, seed = 0x6e90): number[][] {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`a prompt needs at least 1 token, got ${length}`);
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Array.from({ length }, (_, t) => (t === 0 && bos !== undefined ? bos : rng.int(V))));
}

function metric(m: StepMetrics, name: string): number {
  const v = m.objective[name];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`GRPO step ${m.step}: metric ${name} is ${String(v)}, expected a number >= 0`);
  return v;
}

/** The step's split from its metrics; throws when they do not add up (the rollouts longer than the step). */
export function splitGrpoStep(m: StepMetrics): GrpoStepSample {
  if (!(m.tokens > 0 && m.tokens_per_s > 0)) throw new Error(`GRPO step ${m.step}: ${m.tokens} tokens at ${m.tokens_per_s} tokens/s`);
  const stepS = m.tokens / m.tokens_per_s;
  const rolloutS = metric(m, 'rollout_seconds');
  const rewardS = metric(m, 'reward_seconds');
  // Absent when nothing was generated (a rollouts file): 0 tokens.
  const generatedTokens = m.objective.rollout_tokens_per_s === undefined ? 0 : Math.round(metric(m, 'rollout_tokens_per_s') * rolloutS);
  const trainS = stepS - rolloutS - rewardS;
  if (!(trainS > 0)) throw new Error(`GRPO step ${m.step}: rollouts ${rolloutS} s + rewards ${rewardS} s do not fit in the step's ${stepS} s`);
  return { step: m.step, stepS, rolloutS, rewardS, trainS, generatedTokens, tokens: m.tokens, trainedTokens: m.trained_tokens, loss: m.loss, reward: m.objective.reward ?? NaN };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Totals over the timed steps (ratios of sums, so a long step weighs as much as its time) and the decode ratio. */
export function summariseGrpo(steps: readonly GrpoStepSample[], decode: readonly DecodeSample[]): GrpoSummary {
  if (!steps.length || !decode.length) throw new Error('the GRPO summary needs timed steps and timed greedy runs');
  const stepS = sum(steps.map((s) => s.stepS));
  const rolloutS = sum(steps.map((s) => s.rolloutS));
  const rewardS = sum(steps.map((s) => s.rewardS));
  const trainS = sum(steps.map((s) => s.trainS));
  const rolloutTokensPerS = sum(steps.map((s) => s.generatedTokens)) / rolloutS;
  const decodeTokensPerS = sum(decode.map((d) => d.tokens)) / sum(decode.map((d) => d.seconds));
  const best = (xs: readonly number[]) => Math.max(...xs);
  return {
    meanStepS: stepS / steps.length,
    rolloutTokensPerS,
    trainTokensPerS: sum(steps.map((s) => s.tokens)) / trainS,
    trainedTokensPerS: sum(steps.map((s) => s.trainedTokens)) / trainS,
    generationShare: rolloutS / stepS,
    rewardShare: rewardS / stepS,
    trainShare: trainS / stepS,
    decodeTokensPerS,
    rolloutVsDecode: rolloutTokensPerS / decodeTokensPerS,
    bestRolloutVsDecode: best(steps.map((s) => s.generatedTokens / s.rolloutS)) / best(decode.map((d) => d.tokens / d.seconds)),
  };
}
