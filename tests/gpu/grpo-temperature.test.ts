// GRPO's log-probabilities at the sampling temperature on the GPU (the cross-entropy kernels' logit scale
// 1 / tau; TRL divides the logits by the temperature, trl/trainer/grpo_trainer.py
// _get_per_token_logps_and_entropies) against the float64 CPU reference, on tiny Llama with GQA at tau 0.7:
// - logProbs at tau equals log softmax(logits / tau) of the CPU inference model (the reference: the base
//   model) and CpuBackend.logProbs at tau (the policy), with the LM head in one buffer and split into parts;
// - one GRPO micro-batch (beta > 0, clipped ratios, old and reference log-probabilities scored at tau): every
//   LoRA gradient equals the CPU's, with the head whole and split;
// - GpuBackend.trainStep (two accumulated micro-batches) equals CpuBackend.trainStep: gradient norm,
//   log-probabilities and the AdamW update; the norm differs from the same step at tau = 1.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { CpuBackend } from '../../src/engine/train/cpu/cpu-backend';
import { float64Adapter } from '../../src/engine/train/cpu/cpu-lora-adapter';
import { cpuObjectiveLossAndGrads, cpuTokenLogps } from '../../src/engine/train/cpu/cpu-lora-backward';
import { buildCpuTrainModel, type CpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { GpuBackend } from '../../src/engine/train/gpu/gpu-backend';
import { GpuLoraAdapter } from '../../src/engine/train/gpu/gpu-lora';
import { GpuTrainer } from '../../src/engine/train/gpu/gpu-train-step';
import type { GrpoObjective } from '../../src/engine/train/grpo/grpo-objective';
import { makeGrpoObjective } from '../../src/engine/train/objectives/make-objective';
import type { TrainBatch } from '../../src/engine/train/train-batch';
import { relativeError } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';
import { logpsAtTemperature, maxAbsDiff, ROLLOUT_SHAPES, rolloutSamples, withOldAndReference } from '../helpers/grpo-rollouts';
import { ALL_LINEAR, randomLoraAdapter } from '../helpers/lora-fixtures';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel } from '../helpers/tiny-models';

const TAU = 0.7;
/** GPU (f32) vs float64, per gradient tensor: max |gpu - ref| <= GRAD_TOL * max |ref|. */
const GRAD_TOL = 1e-4;
const LOGP_TOL = 1e-4;
/** Splits the tiny LM head (512 x 48 f32 = 96 KiB) and the embedding into parts; the layers' matrices stay whole. */
const SPLIT_BINDING_BYTES = 32 * 1024;

let tmp: string;
let loaded: LoadedModel;
let cpu: CpuTrainModel;

beforeAll(async () => {
  tmp = await makeTempDir('tunelab-grpo-temperature-');
  const dir = join(tmp, 'llama');
  await writeTinyModel(dir, 'llama', { llama3Rope: true });
  loaded = await loadModel(dir);
  expect(loaded.config.numKvHeads).toBeLessThan(loaded.config.numHeads); // GQA
  cpu = buildCpuTrainModel(loaded.config, loaded.weights);
});

afterAll(() => removeTempDir(tmp));

async function gpuModel(split: boolean): Promise<GpuCausalLm> {
  const model = await GpuCausalLm.create(await testGpu(), loaded.config, loaded.weights, { weightFormat: 'f32', ...(split ? { maxBindingBytes: SPLIT_BINDING_BYTES } : {}) });
  if (split) expect(model.weights.lmHead.parts.length).toBeGreaterThan(1);
  else expect(model.weights.lmHead.parts.length).toBe(1);
  return model;
}



/** A GRPO micro-batch whose old and reference log-probabilities are the policy's at tau, moved (some tokens clip). */
function grpoBatch(objective: GrpoObjective, policy: ReturnType<typeof randomLoraAdapter>, seed: number): TrainBatch {
  const samples = rolloutSamples(ROLLOUT_SHAPES, loaded.config.vocabSize, seed);
  const plain = objective.batch(samples);
  return objective.batch(withOldAndReference(samples, plain, cpuTokenLogps(cpu, float64Adapter(policy), plain, { temperature: TAU }), seed + 10));
}

const settings = { temperature: TAU, lossType: 'dapo' as const, beta: 0.05, numIterations: 2, maskTruncatedCompletions: true, epsilonHigh: 0.28 };

describe(`GRPO at temperature ${TAU} on the GPU equals the float64 CPU reference (tiny Llama-GQA)`, () => {
  for (const split of [false, true]) {
    const head = split ? 'LM head split into parts' : 'LM head in one buffer';
    it(`${head}: logProbs at tau, and one micro-batch's LoRA gradients`, async () => {
      const policy = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 4 }, 41);
      const objective = makeGrpoObjective(settings);
      const batch = grpoBatch(objective, policy, 7);
      const model = await gpuModel(split);
      const gpu = new GpuBackend(model, policy);
      try {
        const reference = await gpu.logProbs(batch, 'reference', { temperature: TAU });
        const wantReference = await logpsAtTemperature(loaded, batch, TAU);
        const policyLogps = await gpu.logProbs(batch, 'policy', { temperature: TAU });
        const wantPolicy = await new CpuBackend(cpu, policy).logProbs(batch, 'policy', { temperature: TAU });
        const errs = { reference: maxAbsDiff(reference, wantReference), policy: maxAbsDiff(policyLogps, wantPolicy), atOne: maxAbsDiff(reference, await logpsAtTemperature(loaded, batch, 1)) };
        console.log(`${head}: logProbs at tau ${TAU}: reference ${errs.reference.toExponential(2)}, policy ${errs.policy.toExponential(2)}; vs tau 1 ${errs.atOne.toFixed(3)}`);
        expect(errs.reference).toBeLessThanOrEqual(LOGP_TOL);
        expect(errs.policy).toBeLessThanOrEqual(LOGP_TOL);
        expect(errs.atOne).toBeGreaterThan(0.05);
      } finally {
        gpu.dispose();
      }

      // One micro-batch's gradients through GpuTrainer at tau (a second micro-batch in the step's totals).
      const totals = objective.totals([batch, objective.batch(rolloutSamples(ROLLOUT_SHAPES.slice(0, 2), loaded.config.vocabSize, 9))]);
      const want = cpuObjectiveLossAndGrads(cpu, float64Adapter(policy), { batch, objective, totals });
      expect(want.result.metrics['clip_ratio/low_mean']).toBeGreaterThan(0);
      expect(want.result.metrics['clip_ratio/high_mean']).toBeGreaterThan(0);
      const lora = GpuLoraAdapter.create(model.ctx, policy);
      const trainer = GpuTrainer.create(model, lora);
      try {
        await trainer.accumulate(batch, objective.gpuGradient(batch, totals), { logitTemperature: TAU });
        const grads = await lora.readGrads();
        let worst = 0;
        let where = '';
        grads.forEach((g, i) => {
          for (const which of ['a', 'b'] as const) {
            const ref = want.grads[i][which];
            const scale = ref.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
            expect(scale).toBeGreaterThan(0);
            g[which].forEach((x, j) => {
              const e = Math.abs(x - ref[j]) / scale;
              if (e > worst) [worst, where] = [e, `${policy.modules[i].path}.${which}[${j}]`];
            });
          }
        });
        console.log(`${head}: GRPO gradients at tau ${TAU}: worst ${worst.toExponential(2)} at ${where}`);
        expect(worst, where).toBeLessThanOrEqual(GRAD_TOL);
      } finally {
        trainer.dispose();
        lora.dispose();
        model.dispose();
      }
    });
  }

  it('GpuBackend.trainStep (2 micro-batches) equals CpuBackend.trainStep: gradient norm, log-probabilities, AdamW update', async () => {
    const policy = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 4 }, 51);
    const objective = makeGrpoObjective(settings);
    const batches = [grpoBatch(objective, policy, 11), grpoBatch(objective, policy, 12)];
    const totals = objective.totals(batches);
    const hyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-2, weightDecay: 0, maxGradNorm: 0 };
    const cpuBackend = new CpuBackend(cpu, policy);
    const want = await cpuBackend.trainStep(batches, objective, totals, hyper);
    const wantAdapter = await cpuBackend.snapshot();
    const atOne = await new CpuBackend(cpu, policy).trainStep(batches, makeGrpoObjective({ ...settings, temperature: 1 }), totals, hyper);
    const model = await gpuModel(false);
    const gpu = new GpuBackend(model, policy);
    try {
      const got = await gpu.trainStep(batches, objective, totals, hyper);
      const gotAdapter = await gpu.snapshot();
      console.log(`trainStep at tau ${TAU}: grad norm gpu ${got.gradNorm.toExponential(6)} cpu ${want.gradNorm.toExponential(6)} (at tau 1: ${atOne.gradNorm.toExponential(6)})`);
      expect(Math.abs(got.gradNorm - want.gradNorm)).toBeLessThanOrEqual(1e-4 * want.gradNorm);
      expect(Math.abs(atOne.gradNorm - want.gradNorm)).toBeGreaterThan(0.01 * want.gradNorm);
      expect(got.logps).toHaveLength(want.logps.length);
      got.logps.forEach((mb, k) => expect(maxAbsDiff(mb.policy, want.logps[k].policy), `micro-batch ${k}`).toBeLessThanOrEqual(LOGP_TOL));
      let worst = 0;
      policy.modules.forEach((m, i) => {
        for (const which of ['a', 'b'] as const) {
          const gotStep = gotAdapter.modules[i][which].map((x, j) => x - m[which][j]);
          const wantStep = wantAdapter.modules[i][which].map((x, j) => x - m[which][j]);
          worst = Math.max(worst, relativeError(gotStep, wantStep));
        }
      });
      console.log(`trainStep at tau ${TAU}: AdamW update worst relative error ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(2e-4);
    } finally {
      gpu.dispose();
      model.dispose();
    }
  });
});
