// The preference objectives on the GPU (GpuTrainer with the objective's gradient rule: row losses, the
// preference kernel, the weighted LM-head backward) against the float64 CPU reference: for DPO's four loss
// types, SimPO and ORPO on tiny Llama (GQA), Qwen2 and GPT-2 with an all-linear adapter (B non-zero), every
// LoRA gradient and the objective's loss; DPO's reference is a frozen second adapter run in the same submit
// (and, once, precomputed sums); a fresh adapter (B = 0) against the adapter-off reference gives exactly
// log 2, zero rewards and zero margins from the GPU's own log-probabilities. GRPO (shaders/grpo_grad.wgsl)
// likewise for its four loss types, with the KL term and old log-probabilities that clip some tokens; and
// whole GRPO optimizer steps of GpuBackend against CpuBackend with two accumulated micro-batches holding a
// masked truncated completion (all labels ignored), once inside a micro-batch and once as one on its own.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenizedPair } from '../../src/engine/data/tokenize-preference';
import type { LoraAdapter } from '../../src/engine/lora/adapter';
import { initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { CpuBackend } from '../../src/engine/train/cpu/cpu-backend';
import { float64Adapter } from '../../src/engine/train/cpu/cpu-lora-adapter';
import { cpuObjectiveLossAndGrads, cpuTokenLogps } from '../../src/engine/train/cpu/cpu-lora-backward';
import { buildCpuTrainModel, type CpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { GpuBackend } from '../../src/engine/train/gpu/gpu-backend';
import { GpuLoraAdapter } from '../../src/engine/train/gpu/gpu-lora';
import { GpuTrainer, rowLossesToLogps } from '../../src/engine/train/gpu/gpu-train-step';
import { GRPO_LOSS_TYPES, type GrpoConfig } from '../../src/engine/train/grpo/grpo-config';
import type { TrainingObjective } from '../../src/engine/train/objective';
import { makeGrpoObjective, makeObjective } from '../../src/engine/train/objectives/make-objective';
import { IGNORE_INDEX, responseSum, type LoraGrads, type TrainBatch } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import { relativeError } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';
import { ALL_LINEAR, randomLoraAdapter } from '../helpers/lora-fixtures';
import { ROLLOUT_SHAPES, rolloutSamples, withOldAndReference } from '../helpers/grpo-rollouts';
import { PREFERENCE_CASES } from '../helpers/preference-cases';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel, type TinyKind } from '../helpers/tiny-models';

/** GPU (f32 weights) vs float64 reference, per gradient tensor: max |gpu - ref| <= GRAD_TOL * max |ref|. */
const GRAD_TOL = 1e-4;
const LOSS_TOL = 1e-5;


let tmp: string;
const tiny = new Map<TinyKind, { loaded: LoadedModel; cpu: CpuTrainModel }>();

beforeAll(async () => {
  tmp = await makeTempDir('tunelab-train-objectives-');
  for (const kind of ['llama', 'qwen2', 'gpt2'] as const) {
    const dir = join(tmp, kind);
    await writeTinyModel(dir, kind, kind === 'llama' ? { llama3Rope: true } : {});
    const loaded = await loadModel(dir);
    tiny.set(kind, { loaded, cpu: buildCpuTrainModel(loaded.config, loaded.weights) });
  }
});

afterAll(() => removeTempDir(tmp));

/** Three pairs: prompts of 0, 2 and 4 tokens, answers of unequal lengths (two sequences share a length). */
function pairs(vocab: number, seed: number): TokenizedPair[] {
  const rng = new Rng(seed);
  const ids = (n: number) => Array.from({ length: n }, () => 3 + rng.int(vocab - 3));
  return [
    { line: 1, prompt: ids(4), chosen: ids(3), rejected: ids(5) },
    { line: 2, prompt: ids(2), chosen: ids(5), rejected: ids(3) },
    { line: 3, prompt: [], chosen: ids(4), rejected: ids(2) },
  ];
}

/** max over tensors of max |got - want| / max |want|, with the worst tensor. */
function worstError(got: readonly LoraGrads<Float32Array>[], want: readonly LoraGrads<Float64Array>[], paths: readonly string[]): { worst: number; where: string } {
  let worst = 0;
  let where = '';
  got.forEach((g, i) => {
    for (const which of ['a', 'b'] as const) {
      const ref = want[i][which];
      const scale = ref.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(scale, `${paths[i]}.${which} reference is all zero`).toBeGreaterThan(0);
      g[which].forEach((x, j) => {
        const e = Math.abs(x - ref[j]) / scale;
        if (e > worst) [worst, where] = [e, `${paths[i]}.${which}[${j}]`];
      });
    }
  });
  return { worst, where };
}

/** One micro-batch through a fresh trainer; returns its gradients and the objective evaluated on its log-probabilities. */
async function gpuRun(loaded: LoadedModel, policy: LoraAdapter, reference: LoraAdapter | null, batch: TrainBatch, objectiveOf: () => TrainingObjective, totals: unknown) {
  const ctx = await testGpu();
  const model = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat: 'f32' });
  const lora = GpuLoraAdapter.create(ctx, policy);
  const ref = reference && GpuLoraAdapter.create(ctx, reference);
  const trainer = GpuTrainer.create(model, lora, { reference: ref });
  try {
    const objective = objectiveOf();
    const r = await trainer.accumulate(batch, objective.gpuGradient(batch, totals as never), { referencePass: objective.needsReference && !batch.reference });
    const logps = rowLossesToLogps(batch, r.rowLoss);
    const refLogps = r.referenceRowLoss && rowLossesToLogps(batch, r.referenceRowLoss);
    const evaluated = objective.evaluate({ batch, policy: logps, reference: refLogps }, totals as never);
    return { grads: await lora.readGrads(), evaluated };
  } finally {
    trainer.dispose();
    ref?.dispose();
    lora.dispose();
    model.dispose();
  }
}

describe('preference objectives on the GPU equal the float64 CPU reference', () => {
  for (const m of PREFERENCE_CASES) {
    for (const kind of ['llama', 'qwen2', 'gpt2'] as const) {
      it(`${m.name}, tiny ${kind}: loss and every LoRA gradient (3 pairs packed, reference adapter in the step)`, async () => {
        const { loaded, cpu } = tiny.get(kind)!;
        const policy = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 4 }, 21);
        const reference = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 4 }, 22);
        const objective = makeObjective(m.method, m.settings);
        const batch = objective.batch(pairs(loaded.config.vocabSize, 5));
        const own = objective.totals([batch]);
        const totals = { pairs: own.pairs + 2, chosenTokens: own.chosenTokens + 7 };
        const want = cpuObjectiveLossAndGrads(cpu, policy, { batch, objective, totals }, { reference });
        const got = await gpuRun(loaded, policy, objective.needsReference ? reference : null, batch, () => makeObjective(m.method, m.settings), totals);
        const lossErr = Math.abs(got.evaluated.loss - want.result.loss) / Math.abs(want.result.loss);
        const e = worstError(got.grads, want.grads, policy.modules.map((x) => x.path));
        console.log(`${m.name}, tiny ${kind}: loss ${got.evaluated.loss.toFixed(6)} ref ${want.result.loss.toFixed(6)} (${lossErr.toExponential(2)}); gradients worst ${e.worst.toExponential(2)} at ${e.where}`);
        expect(lossErr).toBeLessThanOrEqual(LOSS_TOL);
        expect(e.worst, e.where).toBeLessThanOrEqual(GRAD_TOL);
        for (const name of ['rewards/chosen', 'rewards/margins', 'logps/rejected']) {
          expect(Math.abs(got.evaluated.metrics[name] - want.result.metrics[name])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want.result.metrics[name])));
        }
      });
    }
  }

  it('dpo with precomputed reference sums gives the gradients of the reference pass in the step', async () => {
    const { loaded, cpu } = tiny.get('llama')!;
    const policy = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 4 }, 31);
    const reference = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 4 }, 32);
    const objective = makeObjective('dpo', { beta: 0.3 });
    const plain = objective.batch(pairs(loaded.config.vocabSize, 9));
    const refLogps = cpuTokenLogps(cpu, reference, plain);
    const batch = { ...plain, reference: Float64Array.from(plain.sequences.map((s, i) => responseSum(s, refLogps[i]).sum)) };
    const totals = objective.totals([batch]);
    const want = cpuObjectiveLossAndGrads(cpu, policy, { batch: plain, objective, totals }, { reference });
    const got = await gpuRun(loaded, policy, null, batch, () => makeObjective('dpo', { beta: 0.3 }), totals);
    const e = worstError(got.grads, want.grads, policy.modules.map((x) => x.path));
    console.log(`dpo, precomputed reference: gradients worst ${e.worst.toExponential(2)} at ${e.where}`);
    expect(e.worst, e.where).toBeLessThanOrEqual(GRAD_TOL);
  });

  it('a fresh adapter against the adapter-off reference: loss exactly log 2, rewards and margins exactly 0', async () => {
    const { loaded } = tiny.get('qwen2')!;
    const fresh = initAdapter(planAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 4 }), new Rng(3));
    const objective = makeObjective('dpo');
    const batch = objective.batch(pairs(loaded.config.vocabSize, 13));
    const got = await gpuRun(loaded, fresh, null, batch, () => makeObjective('dpo'), objective.totals([batch]));
    expect(got.evaluated.loss).toBe(Math.LN2);
    expect(got.evaluated.metrics['rewards/chosen']).toBe(0);
    expect(got.evaluated.metrics['rewards/rejected']).toBe(0);
    expect(got.evaluated.metrics['rewards/margins']).toBe(0);
    // The policy's log-probabilities are real numbers, not zeros: the identities are not vacuous.
    expect(got.evaluated.metrics['logps/chosen']).toBeLessThan(-1);
  });
});

describe('GRPO on the GPU equals the float64 CPU reference', () => {
  /** Old log-probabilities clip some tokens (num_iterations 2), beta > 0, a masked truncated completion, a second micro-batch in the step. */
  async function grpoCase(kind: TinyKind, settings: Parameters<typeof makeGrpoObjective>[0], withOld: boolean) {
    const { loaded, cpu } = tiny.get(kind)!;
    const vocab = loaded.config.vocabSize;
    const policy = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 4 }, 41);
    const objective = makeGrpoObjective(settings);
    const base = rolloutSamples(ROLLOUT_SHAPES, vocab, 7);
    const plain = objective.batch(base);
    const batch = withOld ? objective.batch(withOldAndReference(base, plain, cpuTokenLogps(cpu, policy, plain), 8)) : plain;
    const totals = objective.totals([batch, objective.batch(rolloutSamples(ROLLOUT_SHAPES.slice(0, 2), vocab, 9))]);
    const want = cpuObjectiveLossAndGrads(cpu, policy, { batch, objective, totals });
    const got = await gpuRun(loaded, policy, null, batch, () => makeGrpoObjective(settings), totals);
    const lossErr = Math.abs(got.evaluated.loss - want.result.loss) / Math.abs(want.result.loss);
    const e = worstError(got.grads, want.grads, policy.modules.map((x) => x.path));
    const m = want.result.metrics;
    console.log(
      `grpo ${settings?.lossType}, tiny ${kind}: loss ${got.evaluated.loss.toFixed(6)} ref ${want.result.loss.toFixed(6)} (${lossErr.toExponential(2)}); ` +
        `gradients worst ${e.worst.toExponential(2)} at ${e.where}; clipped low ${m['clip_ratio/low_mean']?.toFixed(3)} high ${m['clip_ratio/high_mean']?.toFixed(3)}`,
    );
    expect(lossErr).toBeLessThanOrEqual(LOSS_TOL);
    expect(e.worst, e.where).toBeLessThanOrEqual(GRAD_TOL);
    return { want: want.result.metrics, got: got.evaluated.metrics };
  }

  for (const lossType of GRPO_LOSS_TYPES) {
    for (const kind of ['llama', 'qwen2', 'gpt2'] as const) {
      it(`${lossType}, tiny ${kind}: loss and every LoRA gradient with the KL term and clipped tokens`, async () => {
        const settings = { lossType, beta: 0.04, numIterations: 2, maxCompletionLength: 8, maskTruncatedCompletions: true, epsilonHigh: 0.28 };
        const { want, got } = await grpoCase(kind, settings, true);
        // Tokens clipped on both sides and some not: the gradient's zero and non-zero branches both ran.
        expect(want['clip_ratio/low_mean']).toBeGreaterThan(0);
        expect(want['clip_ratio/high_mean']).toBeGreaterThan(0);
        expect(want['clip_ratio/region_mean']).toBeLessThan(0.75);
        expect(want.kl).toBeGreaterThan(0.005);
        // The GPU's log-probabilities clip the same tokens.
        for (const name of ['clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/low_min', 'clip_ratio/high_max']) expect(got[name], name).toBe(want[name]);
        expect(Math.abs(got.kl - want.kl)).toBeLessThanOrEqual(1e-5 * want.kl);
      });
    }
  }

  it('num_iterations 1 (the ratio is the policy against itself), beta 0: loss and gradients', async () => {
    const { want } = await grpoCase('llama', { lossType: 'grpo' }, false);
    expect(want['clip_ratio/region_mean']).toBe(0);
    expect(want.kl).toBeUndefined();
  });
});

describe('GpuBackend.trainStep with GRPO equals CpuBackend', () => {
  // Every micro-batch has the five rollouts' shapes (the 4th a truncated completion): the same packed sizes
  // as the cases above, so no new matmul variants compile.
  const steps: { label: string; lossType: GrpoConfig['lossType']; allMasked: boolean[] }[] = [
    { label: 'a masked truncated completion in each of 2 micro-batches', lossType: 'dapo', allMasked: [false, false] },
    { label: 'a second micro-batch whose completions are all masked (truncated)', lossType: 'bnpo', allMasked: [false, true] },
  ];
  for (const s of steps) {
    it(`${s.lossType}, ${s.label}: gradient norm, log-probabilities and the AdamW update`, async () => {
      const { loaded, cpu } = tiny.get('llama')!;
      const objective = makeGrpoObjective({ lossType: s.lossType, beta: 0.05, numIterations: 2, maskTruncatedCompletions: true });
      const policy = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 4 }, 51);
      const batches = s.allMasked.map((masked, k) => {
        const samples = rolloutSamples(ROLLOUT_SHAPES, loaded.config.vocabSize, 11 + k).map((x) => (masked ? { ...x, truncated: true } : x));
        const plain = objective.batch(samples);
        return objective.batch(withOldAndReference(samples, plain, cpuTokenLogps(cpu, float64Adapter(policy), plain), 20 + k));
      });
      s.allMasked.forEach((masked, k) => expect(batches[k].sequences.filter((x) => x.labels.every((l) => l === IGNORE_INDEX)).length).toBe(masked ? ROLLOUT_SHAPES.length : 1));
      const totals = objective.totals(batches);
      // The reference norm first, to size AdamW so its first update is ~ lr g / eps, well above f32 rounding of the parameters.
      const refGrads = batches.map((batch) => cpuObjectiveLossAndGrads(cpu, float64Adapter(policy), { batch, objective, totals }));
      const clipped = refGrads.reduce((n, r) => n + r.result.metrics['clip_ratio/region_mean'], 0);
      expect(clipped).toBeGreaterThan(0);
      let sq = 0;
      for (const m of policy.modules.keys()) {
        for (const which of ['a', 'b'] as const) {
          const sum = refGrads[0].grads[m][which].map((x, j) => refGrads.slice(1).reduce((acc, r) => acc + r.grads[m][which][j], x));
          sq += sum.reduce((acc, x) => acc + x * x, 0);
        }
      }
      const norm = Math.sqrt(sq);
      const hyper = { lr: 5, beta1: 0.9, beta2: 0.999, eps: 100 * norm, weightDecay: 0, maxGradNorm: 0 };

      const cpuBackend = new CpuBackend(cpu, policy);
      const want = await cpuBackend.trainStep(batches, objective, totals, hyper);
      const wantAdapter = await cpuBackend.snapshot();
      const ctx = await testGpu();
      const model = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat: 'f32' });
      const gpu = new GpuBackend(model, policy);
      try {
        const got = await gpu.trainStep(batches, objective, totals, hyper);
        const gotAdapter = await gpu.snapshot();
        console.log(`${s.label}: grad norm gpu ${got.gradNorm.toExponential(6)} cpu ${want.gradNorm.toExponential(6)} direct ${norm.toExponential(6)}`);
        expect(Math.abs(want.gradNorm - norm)).toBeLessThanOrEqual(1e-9 * norm);
        expect(Math.abs(got.gradNorm - want.gradNorm)).toBeLessThanOrEqual(1e-4 * want.gradNorm);
        expect(got.logps).toHaveLength(want.logps.length);
        got.logps.forEach((mb, k) =>
          mb.policy.forEach((logps, i) => {
            const labels = batches[k].sequences[i].labels;
            logps.forEach((x, t) => (labels[t] === IGNORE_INDEX ? expect(Math.abs(x)).toBe(0) : expect(Math.abs(x - want.logps[k].policy[i][t])).toBeLessThanOrEqual(1e-4)));
          }),
        );
        let worst = 0;
        policy.modules.forEach((m, i) => {
          for (const which of ['a', 'b'] as const) {
            const before = m[which];
            const gotStep = gotAdapter.modules[i][which].map((x, j) => x - before[j]);
            const wantStep = wantAdapter.modules[i][which].map((x, j) => x - before[j]);
            worst = Math.max(worst, relativeError(gotStep, wantStep));
          }
        });
        console.log(`${s.label}: AdamW update worst relative error ${worst.toExponential(2)}`);
        expect(worst).toBeLessThanOrEqual(2e-4);
      } finally {
        gpu.dispose();
        model.dispose();
      }
    });
  }
});
