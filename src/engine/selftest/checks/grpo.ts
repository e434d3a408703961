// The GRPO gradient kernel (shaders/grpo_grad.wgsl through recordRowScaling) against the float64 objective:
// for random rollouts (prompts of 1 to 4 tokens, completions of 1 to 7, advantages of both signs, one
// truncated completion) and random row losses, every row's d loss / d row loss must equal -tokenGrads of
// GrpoObjective.evaluate, for the four loss types with and without old log-probabilities (num_iterations > 1
// or 1), beta 0 and > 0, the truncated completion masked or trained on, in a step of two micro-batches.
// Old log-probabilities put each ratio well inside the clip range, well outside it on either side, or
// between 1 + epsilon and 1 + epsilon_high (never near an edge, so f32 and float64 agree on which tokens are
// clipped); rows without a loss token (prompt rows, last rows, a masked completion) must come out exactly 0.

import type { GpuContext } from '../../gpu/context';
import type { GrpoConfig } from '../../train/grpo/grpo-config';
import type { GrpoObjective, RolloutSample } from '../../train/grpo/grpo-objective';
import { recordRowScaling } from '../../train/gpu/gpu-objective';
import { makeGrpoObjective } from '../../train/objectives/make-objective';
import { IGNORE_INDEX, type TrainBatch } from '../../train/train-batch';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

/**
 * Token weights of ~1e-2 times ratio x advantage (~1) plus beta x expm1 terms: f32 exp and products give a
 * few ulps relative; the absolute floor covers a gradient where the clipped term and the KL term cancel.
 */
const tolerance = { atol: 1e-8, rtol: 2e-5 };

const VOCAB = 64;

interface Case {
  label: string;
  settings: Partial<GrpoConfig>;
  /** Old log-probabilities (num_iterations > 1); without them the ratio is exactly 1. */
  old: boolean;
}

const CASES: Case[] = [
  { label: 'grpo, old log-probs, beta 0.1, truncation masked', settings: { lossType: 'grpo', beta: 0.1, maskTruncatedCompletions: true }, old: true },
  { label: 'grpo, policy as old, beta 0', settings: { lossType: 'grpo' }, old: false },
  { label: 'bnpo, old log-probs, beta 0, epsilon_high 0.28', settings: { lossType: 'bnpo', epsilonHigh: 0.28 }, old: true },
  { label: 'bnpo, policy as old, beta 0.05, truncation masked', settings: { lossType: 'bnpo', beta: 0.05, maskTruncatedCompletions: true }, old: false },
  { label: 'dr_grpo, old log-probs, beta 0.2', settings: { lossType: 'dr_grpo', beta: 0.2, maxCompletionLength: 9 }, old: true },
  { label: 'dr_grpo, policy as old, beta 0, truncation masked', settings: { lossType: 'dr_grpo', maxCompletionLength: 12, maskTruncatedCompletions: true }, old: false },
  { label: 'dapo, old log-probs, beta 0.04, truncation masked', settings: { lossType: 'dapo', beta: 0.04, maskTruncatedCompletions: true }, old: true },
  { label: 'dapo, policy as old, beta 0', settings: { lossType: 'dapo' }, old: false },
];

/** `n` completions with random ids, f32 advantages of alternating sign; the second one hit the length limit. */
function randomRollouts(rng: Rng, n: number): RolloutSample[] {
  const ids = (k: number) => Array.from({ length: k }, () => 3 + rng.int(VOCAB - 3));
  return Array.from({ length: n }, (_, i) => ({
    prompt: ids(1 + rng.int(4)),
    completion: ids(1 + rng.int(7)),
    advantage: Math.fround((i % 2 === 0 ? 1 : -1) * rng.uniform(0.2, 1.5)),
    truncated: i === 1,
  }));
}

/** (N) f32 row losses of a batch: 0.05 .. 3 where labelled, 0 elsewhere (as the LM head's forward writes). */
function rowLosses(rng: Rng, batch: TrainBatch): Float32Array {
  return Float32Array.from(batch.sequences.flatMap((s) => Array.from(s.labels, (l) => (l === IGNORE_INDEX ? 0 : rng.uniform(0.05, 3)))));
}

/** Per sequence, the log-probabilities the row losses stand for (their negation, in float64). */
function tokenLogps(batch: TrainBatch, rowLoss: Float32Array): Float64Array[] {
  let at = 0;
  return batch.sequences.map((s) => {
    const out = Float64Array.from(rowLoss.subarray(at, at + s.labels.length), (x) => -x);
    at += s.labels.length;
    return out;
  });
}

/**
 * log(ratio) = logp - old of the k-th old token, cycling through five kinds, each well away from the clip
 * edges: +-0.35..0.55 (ratio 1.42..1.73 or 0.58..0.70, clipped where the advantage's sign agrees),
 * +-0.02..0.08 (within 8% of 1, never clipped) and +0.20..0.23 (ratio 1.22..1.26: above 1 + epsilon 0.2,
 * below 1 + epsilon_high 0.28, so the upper bound must be epsilon_high's).
 */
function logRatio(rng: Rng, k: number): number {
  switch (k % 5) {
    case 0:
    case 1:
      return (k % 5 === 0 ? 1 : -1) * rng.uniform(0.35, 0.55);
    case 2:
    case 3:
      return (k % 5 === 2 ? 1 : -1) * rng.uniform(0.02, 0.08);
    default:
      return rng.uniform(0.2, 0.23);
  }
}

/**
 * The samples with f32 old log-probabilities (when `old`) and reference ones (when `withRef`: the policy's
 * +- 0.4), made from `policy`, the token log-probabilities of the batch built from these samples. Completion
 * token j of a sample is label position prompt - 1 + j of its sequence.
 */
function withLogps(rng: Rng, samples: RolloutSample[], policy: Float64Array[], old: boolean, withRef: boolean): RolloutSample[] {
  let k = 0;
  return samples.map((s, i) => {
    const at = (j: number) => policy[i][s.prompt.length - 1 + j];
    const oldLogps = old ? Float64Array.from(s.completion, (_, j) => Math.fround(at(j) - logRatio(rng, k++))) : undefined;
    const refLogps = withRef ? Float64Array.from(s.completion, (_, j) => Math.fround(at(j) + rng.uniform(-0.4, 0.4))) : undefined;
    return { ...s, oldLogps, refLogps };
  });
}

/** A check on the data itself: with old log-probabilities both clip sides must be exercised. */
function requireClipping(label: string, metrics: Record<string, number>): void {
  if (!(metrics['clip_ratio/low_mean'] > 0 && metrics['clip_ratio/high_mean'] > 0)) {
    throw new Error(`grpo.grad ${label}: the random rollouts clip no tokens on one side (low ${metrics['clip_ratio/low_mean']}, high ${metrics['clip_ratio/high_mean']})`);
  }
}

async function runCase(ctx: GpuContext, rng: Rng, c: Case): Promise<CheckOutcome[]> {
  const objective: GrpoObjective = makeGrpoObjective(c.settings);
  const base = randomRollouts(rng, 6);
  const plain = objective.batch(base);
  const rowLoss = rowLosses(rng, plain);
  const policy = tokenLogps(plain, rowLoss);
  const batch = objective.batch(withLogps(rng, base, policy, c.old, objective.config.beta !== 0));
  // The step has a second micro-batch: grpo, bnpo and dr_grpo divide by 2, dapo by the step's tokens.
  const totals = objective.totals([batch, objective.batch(randomRollouts(rng, 3))]);
  const want = objective.evaluate({ batch, policy }, totals);
  if (c.old) requireClipping(c.label, want.metrics);

  const losses = ctx.upload(rowLoss);
  try {
    const step = ctx.step();
    const scaling = recordRowScaling(step, objective.gpuGradient(batch, totals), batch, losses, null);
    if (!('rowScale' in scaling)) throw new Error('the GRPO rule must give per-row scales');
    const read = step.read(scaling.rowScale, 0, rowLoss.length * 4);
    await step.submit();
    const got = new Float32Array(await read.data());
    const expected = Float64Array.from(want.tokenGrads.flatMap((g) => Array.from(g, (x) => -x)));
    const labels = batch.sequences.flatMap((s) => Array.from(s.labels));
    const unlabelled = labels.flatMap((l, i) => (l === IGNORE_INDEX ? [got[i]] : []));
    return [
      outcome(c.label, got, expected, tolerance),
      outcome(`${c.label}: rows without a loss token`, unlabelled, new Float64Array(unlabelled.length), { atol: 0, rtol: 0 }),
    ];
  } finally {
    losses.destroy();
  }
}

export const grpoChecks: KernelCheck[] = [
  {
    name: 'grpo.grad',
    tolerance,
    async run(ctx) {
      const results: CheckOutcome[] = [];
      const rng = new Rng(43);
      for (const c of CASES) results.push(...(await runCase(ctx, rng, c)));
      return results;
    },
  },
];
