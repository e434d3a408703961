// The float64 LoRA training reference: AdamW steps move the loss down with torch's update formula, global
// norm clipping scales the gradient the optimizer sees, and the loss denominator makes gradient
// accumulation over micro-batches equal to one step on the whole batch.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cpuLoraLoss, cpuLoraLossAndGrads } from '../../src/engine/train/cpu/cpu-lora-backward';
import { float64Adapter, type CpuLoraAdapter } from '../../src/engine/train/cpu/cpu-lora-adapter';
import { buildCpuTrainModel, type CpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { cpuTrainSteps, type CpuTrainHyper } from '../../src/engine/train/cpu/cpu-train-step';
import { globalGradNorm } from '../../src/engine/ops/cpu/adamw';
import { IGNORE_INDEX, trainedTokens, type LoraGrads, type TrainBatch } from '../../src/engine/train/train-batch';
import type { LoraAdapter } from '../../src/engine/lora/adapter';
import { Rng } from '../../src/engine/util/rng';
import { ALL_LINEAR, randomLoraAdapter, randomSequence, twoSequenceBatch } from '../helpers/lora-fixtures';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel } from '../helpers/tiny-models';

let root: string;
let loaded: LoadedModel;
let model: CpuTrainModel;
let adapter: LoraAdapter;
let batch: TrainBatch;

beforeAll(async () => {
  root = await makeTempDir('tunelab-train-step-');
  await writeTinyModel(`${root}/llama`, 'llama', { seed: 3 });
  loaded = await loadModel(`${root}/llama`);
  model = buildCpuTrainModel(loaded.config, loaded.weights);
  adapter = randomLoraAdapter('llama', loaded.weights, { ...ALL_LINEAR, r: 4 }, 17, 0.05);
  batch = twoSequenceBatch(loaded.config.vocabSize, 23);
});
afterAll(() => removeTempDir(root));

const HYPER: CpuTrainHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 };

/** Every A and B value, module by module (A then B), as one list. */
function flatParams(a: CpuLoraAdapter): number[] {
  return a.modules.flatMap((m) => [...m.a, ...m.b]);
}

function flatGrads(g: LoraGrads<Float64Array>[]): number[] {
  return g.flatMap((x) => [...x.a, ...x.b]);
}

/** torch's first AdamW step on p with gradient g (already clipped): m_hat = g, sqrt(v_hat) = |g|. */
function firstAdamWStep(p: number, g: number, h: CpuTrainHyper): number {
  return p * (1 - h.lr * h.weightDecay) - (h.lr * g) / (Math.abs(g) + h.eps);
}

/** |actual - expected| <= 1e-15 + rtol |expected| everywhere (values are O(0.1): 1e-15 is a few ulps). */
function expectAllClose(actual: number[], expected: number[], rtol: number, label: string): void {
  expect(actual.length).toBe(expected.length);
  let worst = -Infinity;
  let at = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (1e-15 + rtol * Math.abs(expected[i]));
    if (excess > worst) [worst, at] = [excess, i];
  }
  expect(worst, `${label}: element ${at}, ${actual[at]} vs ${expected[at]}`).toBeLessThanOrEqual(0);
}

describe('AdamW steps', () => {
  test('K = 3 steps lower the loss at each step; step 1 is torch AdamW with decoupled weight decay', () => {
    const before = flatParams(adapter);
    const hyper = { ...HYPER, weightDecay: 0.1 };
    const run = cpuTrainSteps(model, adapter, batch, hyper, 3);
    expect(flatParams(adapter)).toEqual(before); // the input adapter is untouched
    const after = cpuLoraLoss(model, run.adapter, batch);
    console.log(`losses ${run.losses.map((l) => l.toFixed(6)).join(' -> ')} -> ${after.toFixed(6)}; grad norms ${run.gradNorms.map((n) => n.toExponential(3)).join(', ')}`);
    expect(run.losses).toHaveLength(3);
    expect(run.losses[0]).toBeCloseTo(cpuLoraLoss(model, float64Adapter(adapter), batch), 12);
    expect(run.losses[1]).toBeLessThan(run.losses[0]);
    expect(run.losses[2]).toBeLessThan(run.losses[1]);
    expect(after).toBeLessThan(run.losses[2]);
    expect(run.optimizer.step).toBe(3);

    const g = flatGrads(cpuLoraLossAndGrads(model, float64Adapter(adapter), batch).grads);
    expect(run.gradNorms[0]).toBeCloseTo(Math.hypot(...g), 12);
    const one = cpuTrainSteps(model, adapter, batch, hyper, 1);
    expectAllClose(flatParams(one.adapter), before.map((p, i) => firstAdamWStep(p, g[i], hyper)), 1e-12, 'step 1 vs the AdamW formula');
  });

  test('zero steps return the adapter unchanged, in float64', () => {
    const run = cpuTrainSteps(model, adapter, batch, HYPER, 0);
    expect(run.losses).toEqual([]);
    expect(flatParams(run.adapter)).toEqual(flatParams(adapter));
    expect(run.adapter.modules[0].a).toBeInstanceOf(Float64Array);
  });
});

describe('clipping by global norm', () => {
  // eps comparable to the gradients, so Adam's first update is not scale-invariant and shows the clipping.
  const hyper = { ...HYPER, eps: 1e-3 };

  test('a norm over max_grad_norm scales every gradient by max / (norm + 1e-6) before AdamW', () => {
    const g = flatGrads(cpuLoraLossAndGrads(model, float64Adapter(adapter), batch).grads);
    const norm = Math.hypot(...g);
    const maxGradNorm = norm / 4;
    const coef = maxGradNorm / (norm + 1e-6);
    const before = flatParams(adapter);

    const clipped = cpuTrainSteps(model, adapter, batch, { ...hyper, maxGradNorm }, 1);
    const unclipped = cpuTrainSteps(model, adapter, batch, hyper, 1);
    expect(clipped.gradNorms[0]).toBeCloseTo(norm, 12); // logged before clipping, like the HF Trainer
    expectAllClose(flatParams(clipped.adapter), before.map((p, i) => firstAdamWStep(p, coef * g[i], hyper)), 1e-12, 'clipped step');
    expectAllClose(flatParams(unclipped.adapter), before.map((p, i) => firstAdamWStep(p, g[i], hyper)), 1e-12, 'unclipped step');

    const update = (run: typeof clipped) => Math.hypot(...flatParams(run.adapter).map((p, i) => p - before[i]));
    expect(update(clipped)).toBeLessThan(0.9 * update(unclipped));
  });

  test('a max_grad_norm above the norm, or 0, leaves the steps exactly as unclipped', () => {
    const norm = globalGradNorm(cpuLoraLossAndGrads(model, float64Adapter(adapter), batch).grads.flatMap((x) => [x.a, x.b]));
    const unclipped = cpuTrainSteps(model, adapter, batch, { ...hyper, maxGradNorm: 0 }, 2);
    const loose = cpuTrainSteps(model, adapter, batch, { ...hyper, maxGradNorm: 2 * norm }, 2);
    const tight = cpuTrainSteps(model, adapter, batch, { ...hyper, maxGradNorm: norm / 4 }, 2);
    expect(flatParams(loose.adapter)).toEqual(flatParams(unclipped.adapter));
    expect(flatParams(tight.adapter)).not.toEqual(flatParams(unclipped.adapter));
  });
});

describe('gradient accumulation', () => {
  test("micro-batches with the whole batch's token count as denominator sum to the whole batch's gradient", () => {
    const rng = new Rng(31);
    const V = loaded.config.vocabSize;
    const sequences = [randomSequence(rng, 6, V, 1), randomSequence(rng, 9, V, 4), randomSequence(rng, 3, V, 0)];
    const whole = { sequences };
    const halves = [{ sequences: sequences.slice(0, 1) }, { sequences: sequences.slice(1) }];
    const total = trainedTokens(whole);
    expect(halves.map(trainedTokens)).not.toContain(total / 2); // unequal halves: the denominator matters

    const p = float64Adapter(adapter);
    const full = cpuLoraLossAndGrads(model, p, whole);
    const parts = halves.map((h) => cpuLoraLossAndGrads(model, p, h, { denominator: total }));
    expect(parts[0].loss + parts[1].loss).toBeCloseTo(full.loss, 12);
    const second = flatGrads(parts[1].grads);
    const summed = flatGrads(parts[0].grads).map((v, i) => v + second[i]);
    expectAllClose(summed, flatGrads(full.grads), 1e-9, 'accumulated vs whole-batch gradient');

    // Each half's own mean (the default denominator) is not the accumulated loss: the option is what makes it so.
    const ownMeans = halves.map((h) => cpuLoraLossAndGrads(model, p, h));
    expect(Math.abs(ownMeans[0].loss / 2 + ownMeans[1].loss / 2 - full.loss)).toBeGreaterThan(1e-3);
  });
});

describe('input checks', () => {
  test('bad labels, empty batches and dropout without masks are refused with what is wrong', () => {
    const p = float64Adapter(adapter);
    const s = batch.sequences[0];
    const badLabel = { sequences: [{ inputIds: s.inputIds, labels: Int32Array.from(s.labels, (l, t) => (t === 2 ? 99999 : l)) }] };
    expect(() => cpuLoraLoss(model, p, badLabel)).toThrow(/sequence 0, position 2: label 99999/);
    const allIgnored = { sequences: [{ inputIds: s.inputIds, labels: new Int32Array(s.labels.length).fill(IGNORE_INDEX) }] };
    expect(() => cpuLoraLoss(model, p, allIgnored)).toThrow(/no trained tokens/);
    expect(cpuLoraLoss(model, p, allIgnored, { denominator: 5 })).toBe(0);
    const withDropout = { ...p, config: { ...p.config, dropout: 0.1 } };
    expect(() => cpuLoraLoss(model, withDropout, batch)).toThrow(/dropoutMasks/);
  });
});
