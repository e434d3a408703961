// GRPO's row-gradient kernel (shaders/grpo_grad.wgsl through recordRowScaling) against the float64 objective
// on random row losses: every row's d loss / d row loss equals -tokenGrads of GrpoObjective.evaluate, for
// each loss type with and without old log-probabilities and the KL term; with the ratio taken against the
// policy itself it is exactly weight x advantage. (Whole GRPO steps on tiny models: train-objectives.test.ts.)

import { describe, expect, it } from 'vitest';
import { recordRowScaling } from '../../src/engine/train/gpu/gpu-objective';
import type { GrpoConfig } from '../../src/engine/train/grpo/grpo-config';
import type { GrpoObjective } from '../../src/engine/train/grpo/grpo-objective';
import { makeGrpoObjective } from '../../src/engine/train/objectives/make-objective';
import { IGNORE_INDEX, type TrainBatch } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import { expectClose } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';
import { ROLLOUT_SHAPES, rolloutSamples, withOldAndReference } from '../helpers/grpo-rollouts';

const VOCAB = 64;

/** (N) f32 row losses of a batch: 0.05 .. 3 where labelled, 0 elsewhere (as the LM head's forward writes). */
function randomRowLosses(rng: Rng, batch: TrainBatch): Float32Array {
  return Float32Array.from(batch.sequences.flatMap((s) => Array.from(s.labels, (l) => (l === IGNORE_INDEX ? 0 : rng.uniform(0.05, 3)))));
}

/** Per sequence, the log-probabilities the row losses stand for. */
function logpsOf(batch: TrainBatch, rowLoss: Float32Array): Float64Array[] {
  let at = 0;
  return batch.sequences.map((s) => {
    const out = Float64Array.from(rowLoss.subarray(at, at + s.labels.length), (x) => -x);
    at += s.labels.length;
    return out;
  });
}

/** The kernel's (N) row gradients for `batch`, in a step of `batch` and one more micro-batch. */
async function kernelRowGrads(objective: GrpoObjective, batch: TrainBatch, rowLoss: Float32Array) {
  const totals = objective.totals([batch, objective.batch(rolloutSamples(ROLLOUT_SHAPES.slice(1, 3), VOCAB, 77))]);
  const rule = objective.gpuGradient(batch, totals);
  const ctx = await testGpu();
  const losses = ctx.upload(rowLoss);
  try {
    const step = ctx.step();
    const scaling = recordRowScaling(step, rule, batch, losses, null);
    if (!('rowScale' in scaling)) throw new Error('the GRPO rule must give per-row scales');
    const read = step.read(scaling.rowScale, 0, rowLoss.length * 4);
    await step.submit();
    const got = new Float32Array(await read.data());
    const want = objective.evaluate({ batch, policy: logpsOf(batch, rowLoss) }, totals);
    return { got, want, rule };
  } finally {
    losses.destroy();
  }
}

describe('GRPO row-gradient kernel on WebGPU', () => {
  const cases: { label: string; settings: Partial<GrpoConfig>; old: boolean }[] = [
    { label: 'grpo, old log-probs, beta 0.1', settings: { lossType: 'grpo', beta: 0.1, maskTruncatedCompletions: true }, old: true },
    { label: 'bnpo, old log-probs, beta 0, epsilon_high 0.28', settings: { lossType: 'bnpo', epsilonHigh: 0.28 }, old: true },
    { label: 'dr_grpo, policy as old, beta 0.2', settings: { lossType: 'dr_grpo', beta: 0.2, maxCompletionLength: 9 }, old: false },
    { label: 'dapo, old log-probs, beta 0.04, masked truncation', settings: { lossType: 'dapo', beta: 0.04, maskTruncatedCompletions: true }, old: true },
  ];
  for (const c of cases) {
    it(`${c.label}: every row's gradient equals -tokenGrads of the float64 objective`, async () => {
      const rng = new Rng(19);
      const objective = makeGrpoObjective(c.settings);
      const base = rolloutSamples(ROLLOUT_SHAPES, VOCAB, 3);
      const plain = objective.batch(base);
      const rowLoss = randomRowLosses(rng, plain);
      const samples = withOldAndReference(base, plain, logpsOf(plain, rowLoss), 4);
      const batch = objective.batch(c.old ? samples : samples.map((x) => ({ ...x, oldLogps: undefined })));
      const { got, want, rule } = await kernelRowGrads(objective, batch, rowLoss);
      const expected = Float64Array.from(want.tokenGrads.flatMap((g) => Array.from(g, (x) => -x)));
      const scale = expected.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(scale).toBeGreaterThan(0);
      const err = expectClose(got, expected, { atol: 1e-6 * scale, rtol: 1e-5 }, c.label);
      console.log(`${c.label}: max |error| ${err.toExponential(2)} of max |gradient| ${scale.toExponential(2)}; clipped ${want.metrics['clip_ratio/region_mean'].toFixed(3)}`);
      if (c.old) expect(want.metrics['clip_ratio/region_mean']).toBeGreaterThan(0);
      // Rows without a loss token (prompt rows, last rows, masked completions) get exactly 0.
      const labels = batch.sequences.flatMap((x) => Array.from(x.labels));
      labels.forEach((l, i) => l === IGNORE_INDEX && expect(got[i] === 0 && rule.kind === 'grpo' && rule.rows[4 * i] === 0, `row ${i}`).toBe(true));
    });
  }

  it('without old log-probabilities and beta 0, each loss row is exactly weight x advantage (ratio 1)', async () => {
    const objective = makeGrpoObjective({ lossType: 'grpo' });
    const batch = objective.batch(rolloutSamples(ROLLOUT_SHAPES, VOCAB, 5));
    // Large row losses: exp(logp - 0) would be far from 1 if the kernel read the (zero) old column.
    const rowLoss = randomRowLosses(new Rng(6), batch).map((x) => x + 2);
    const { got } = await kernelRowGrads(objective, batch, rowLoss);
    // Each loss row: TRL's grpo weight, 1 / (the sequence's loss tokens x the micro-batch's sequences x the step's
    // 2 micro-batches), times the sequence's advantage: written out here, not read from the rule.
    const B = batch.sequences.length;
    const want = batch.sequences.flatMap((s) => {
      const tokens = s.labels.filter((l) => l !== IGNORE_INDEX).length;
      const w = Math.fround(1 / (tokens * B * 2));
      return Array.from(s.labels, (l) => (l === IGNORE_INDEX ? 0 : Math.fround(w * Math.fround(s.rollout!.advantage))));
    });
    expect(got).toHaveLength(want.length);
    let loss = 0;
    for (let i = 0; i < got.length; i++) {
      expect(got[i], `row ${i}`).toBe(want[i]);
      if (want[i] !== 0) loss++;
    }
    expect(loss).toBe(batch.sequences.reduce((n, s) => n + s.labels.filter((l) => l !== IGNORE_INDEX).length, 0));
  });
});
