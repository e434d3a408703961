// The GPU LoRA training step (GpuTrainer) against the float64 CPU reference (src/engine/train/cpu):
// - loss and every LoRA gradient for tiny Llama (GQA), Qwen2 and GPT-2 with all-linear targets and a
//   non-zero B, on a packed batch of 3 sequences (two of equal length, sharing one attention call) with
//   ignored labels; each gradient tensor compared as max |gpu - ref| / max |ref|, the worst printed;
// - recomputation gives bit-equal gradients; two micro-batches over the full denominator equal one batch;
// - LoRA dropout: the GPU masks equal the CPU reference's hash masks (the gradients then match the reference
//   fed those masks), and dropout really changes the gradients;
// - f16 base weights stay close to f32;
// - LoRA down groups: q, k, v and gate, up share one down-projection each (none with dropout);
// - fused projections (q/k/v and gate/up as one product each) and the per-slot fallback into their columns
//   (each matrix in its own buffer) both equal the reference; the fallback costs 6 dispatches per layer more,
//   and the residual adds make no copies;
// - the allocation plan is made once per batch shape;
// - K = 5 AdamW steps on stories260K end with A and B equal to cpuTrainSteps', and the step-1 loss equals
//   the reference loss; steps 3..5 create no bind group (every one is reused from the cache).

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import type { LoraConfig } from '../../src/engine/lora/lora-config';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { uploadWeights } from '../../src/engine/model/gpu/gpu-weights';
import { dropoutKey, dropoutMask } from '../../src/engine/ops/cpu/dropout';
import { dropoutChecks } from '../../src/engine/selftest/checks/dropout';
import { cpuLoraLossAndGrads, type DropoutMasks } from '../../src/engine/train/cpu/cpu-lora-backward';
import { buildCpuTrainModel, type CpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { cpuTrainSteps } from '../../src/engine/train/cpu/cpu-train-step';
import { GpuLoraAdapter } from '../../src/engine/train/gpu/gpu-lora';
import { GpuTrainer, type OptimizerHyper } from '../../src/engine/train/gpu/gpu-train-step';
import { SftObjective } from '../../src/engine/train/objectives/sft-objective';
import { IGNORE_INDEX, shiftedLabels, trainedTokens, type LoraGrads, type TrainBatch } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import { testGpu } from '../helpers/gpu';
import { storiesTokenizer } from '../helpers/stories-tokenizer';
import { STORIES260K_DIR, loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel, type TinyKind } from '../helpers/tiny-models';

/** GPU (f32 weights) vs float64 reference, per gradient tensor: max |gpu - ref| <= GRAD_TOL * max |ref|. */
const GRAD_TOL = 1e-4;
/** Loss sums: relative. */
const LOSS_TOL = 1e-5;
/** Two micro-batches vs one batch: only the order of f32 sums over rows differs. */
const SPLIT_TOL = 1e-5;
/** f16 base weights vs f32, per tensor relative to its max (11-bit weights; measured in the log). */
const F16_TOL = 2e-2;
/** K AdamW steps vs float64 (the 1e-4 relative), per tensor relative to its max |ref|. */
const STEPS_TOL = 1e-4;

interface TensorError {
  worst: number;
  detail: string;
}

/** max over tensors of max |got - want| / max |want|, with the worst tensor and element. */
function gradError(got: readonly { a: ArrayLike<number>; b: ArrayLike<number> }[], want: readonly { a: ArrayLike<number>; b: ArrayLike<number> }[], paths: readonly string[]): TensorError {
  let worst = -1;
  let detail = '';
  got.forEach((g, i) => {
    for (const which of ['a', 'b'] as const) {
      const x = g[which];
      const ref = want[i][which];
      expect(x.length).toBe(ref.length);
      let scale = 0;
      for (let j = 0; j < ref.length; j++) scale = Math.max(scale, Math.abs(ref[j]));
      expect(scale, `${paths[i]} ${which} reference is all zero`).toBeGreaterThan(0);
      for (let j = 0; j < ref.length; j++) {
        const err = Math.abs(x[j] - ref[j]) / scale;
        if (!(err <= worst)) {
          worst = err;
          detail = `${paths[i]}.${which.toUpperCase()}[${j}]: gpu ${x[j]} ref ${ref[j]} (max |ref| ${scale.toPrecision(3)})`;
        }
      }
    }
  });
  return { worst, detail };
}

function expectClose(label: string, e: TensorError, tol: number): void {
  console.log(`${label}: worst ${e.worst.toExponential(2)} at ${e.detail}`);
  if (!(e.worst <= tol)) expect.fail(`${label}: ${e.worst.toExponential(3)} > ${tol} at ${e.detail}`);
}

function bitEqual(a: readonly LoraGrads<Float32Array>[], b: readonly LoraGrads<Float32Array>[]): boolean {
  return a.every((g, i) => g.a.every((x, j) => Object.is(x, b[i].a[j])) && g.b.every((x, j) => Object.is(x, b[i].b[j])));
}

/** A sequence of T random ids whose labels are the shifted ids, `ignored` positions set to IGNORE_INDEX. */
function sequence(rng: Rng, T: number, V: number, ignored: number[]): TrainBatch['sequences'][number] {
  const inputIds = Int32Array.from({ length: T }, () => 3 + rng.int(V - 3));
  const labels = shiftedLabels(inputIds);
  for (const t of ignored) labels[t] = IGNORE_INDEX;
  return { inputIds, labels };
}

/** Three sequences: two of length 7 (one attention call) and one of 5, prompt-like ignored labels. */
function tinyBatch(V: number, seed = 4): TrainBatch {
  const rng = new Rng(seed);
  return { sequences: [sequence(rng, 7, V, [0, 1]), sequence(rng, 7, V, [2]), sequence(rng, 5, V, [0])] };
}

const ALL_LINEAR: LoraConfig = { r: 4, alpha: 8, dropout: 0, targets: ['all-linear'], useRslora: false };

/** PEFT init, then B made non-zero (as after some training), so every gradient path carries signal. */
function trainedAdapter(loaded: LoadedModel, config: LoraConfig, seed: number): LoraAdapter {
  const rng = new Rng(seed);
  const adapter = initAdapter(planAdapter(loaded.config.architecture, loaded.weights, config), rng);
  for (const m of adapter.modules) m.b.set(rng.normals(m.b.length, 0.2));
  return adapter;
}

interface GpuRun {
  lossSums: number[];
  trained: number[];
  grads: LoraGrads<Float32Array>[];
}

const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);

/** One SFT optimizer step through the trainer: the loss is the row losses' sum over the step's trained tokens. */
async function sftTrainStep(trainer: GpuTrainer, micro: TrainBatch[], hyper: OptimizerHyper): Promise<{ loss: number; gradNorm: number }> {
  const objective = new SftObjective();
  const totals = objective.totals(micro);
  const r = await trainer.trainStep(micro, micro.map((b) => objective.gpuGradient(b, totals)), hyper, false);
  return { loss: sum(r.results.flatMap((x) => Array.from(x.rowLoss))) / totals.trainedTokens, gradNorm: r.gradNorm };
}

/** Accumulates the micro-batches over `denominator` on a fresh GPU adapter and reads the gradients. */
async function gpuGradients(
  ctx: GpuContext,
  loaded: LoadedModel,
  adapter: LoraAdapter,
  microBatches: TrainBatch[],
  denominator: number,
  options: { recompute?: boolean; weightFormat?: 'f16' | 'f32'; seed?: number; maxBindingBytes?: number } = {},
): Promise<GpuRun> {
  const model = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat: options.weightFormat ?? 'f32', maxBindingBytes: options.maxBindingBytes });
  const gpuAdapter = GpuLoraAdapter.create(ctx, adapter);
  const trainer = GpuTrainer.create(model, gpuAdapter, { recompute: options.recompute, seed: options.seed });
  try {
    const lossSums: number[] = [];
    const trained: number[] = [];
    for (const b of microBatches) {
      const r = await trainer.accumulate(b, { kind: 'constant', scale: 1 / denominator });
      lossSums.push(sum(r.rowLoss));
      trained.push(trainedTokens(b));
    }
    return { lossSums, trained, grads: await gpuAdapter.readGrads() };
  } finally {
    trainer.dispose();
    gpuAdapter.dispose();
    model.dispose();
  }
}

let tmp: string;
const tiny = new Map<TinyKind, { loaded: LoadedModel; cpu: CpuTrainModel }>();

beforeAll(async () => {
  tmp = await makeTempDir('tunelab-train-step-');
  for (const kind of ['llama', 'qwen2', 'gpt2'] as const) {
    // Llama: GQA 4 / 2, untied head, head_dim 16 != 48 / 4, llama3 RoPE; Qwen2: q/k/v biases, tied;
    // GPT-2: LayerNorm, learned positions, GELU, c_attn.
    const dir = join(tmp, kind);
    await writeTinyModel(dir, kind, kind === 'llama' ? { llama3Rope: true } : {});
    const loaded = await loadModel(dir);
    tiny.set(kind, { loaded, cpu: buildCpuTrainModel(loaded.config, loaded.weights) });
  }
});

afterAll(async () => {
  await removeTempDir(tmp);
});

describe('GpuTrainer gradients equal the float64 CPU reference', () => {
  for (const kind of ['llama', 'qwen2', 'gpt2'] as const) {
    it(`tiny ${kind}: loss and every LoRA gradient (all-linear, packed batch of 3 with ignored labels)`, async () => {
      const { loaded, cpu } = tiny.get(kind)!;
      const ctx = await testGpu();
      const adapter = trainedAdapter(loaded, ALL_LINEAR, 11);
      const batch = tinyBatch(loaded.config.vocabSize);
      const n = trainedTokens(batch);
      const ref = cpuLoraLossAndGrads(cpu, adapter, batch);
      const got = await gpuGradients(ctx, loaded, adapter, [batch], n);
      expect(got.trained[0]).toBe(n);
      const lossErr = Math.abs(got.lossSums[0] - ref.lossSum) / ref.lossSum;
      console.log(`tiny ${kind}: loss ${(got.lossSums[0] / n).toFixed(6)} ref ${ref.loss.toFixed(6)} (relative ${lossErr.toExponential(2)})`);
      expect(lossErr).toBeLessThanOrEqual(LOSS_TOL);
      expectClose(`tiny ${kind} gradients vs float64`, gradError(got.grads, ref.grads, adapter.modules.map((m) => m.path)), GRAD_TOL);

      // Recomputing each layer before its backward runs the same kernels on the same values: bit-equal.
      const recomputed = await gpuGradients(ctx, loaded, adapter, [batch], n, { recompute: true });
      expect(recomputed.lossSums).toEqual(got.lossSums);
      expect(bitEqual(recomputed.grads, got.grads), 'recompute: gradients bit-equal').toBe(true);
    });
  }

  it('scoring: the row losses without gradients equal the reference, on a split head too, and leave the gradients alone', async () => {
    const { loaded, cpu } = tiny.get('gpt2')!;
    const ctx = await testGpu();
    const adapter = trainedAdapter(loaded, ALL_LINEAR, 12);
    const batch = tinyBatch(loaded.config.vocabSize, 6);
    const ref = cpuLoraLossAndGrads(cpu, adapter, batch);
    for (const maxBindingBytes of [undefined, 4096]) {
      const model = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat: 'f32', maxBindingBytes });
      const gpuAdapter = GpuLoraAdapter.create(ctx, adapter);
      const trainer = GpuTrainer.create(model, gpuAdapter);
      try {
        const rowLoss = await trainer.rowLosses(batch, 'policy');
        expect(rowLoss.length).toBe(batch.sequences.reduce((n, s) => n + s.inputIds.length, 0));
        expect(Math.abs(sum(rowLoss) - ref.lossSum) / ref.lossSum, `split ${maxBindingBytes}`).toBeLessThanOrEqual(LOSS_TOL);
        expect((await gpuAdapter.readGrads()).every((g) => g.a.every((x) => x === 0) && g.b.every((x) => x === 0))).toBe(true);
      } finally {
        trainer.dispose();
        gpuAdapter.dispose();
        model.dispose();
      }
    }
  });

  it('tiny llama: two micro-batches over the full denominator equal one batch; f16 weights stay close', async () => {
    const { loaded } = tiny.get('llama')!;
    const ctx = await testGpu();
    const adapter = trainedAdapter(loaded, ALL_LINEAR, 12);
    const batch = tinyBatch(loaded.config.vocabSize, 6);
    const n = trainedTokens(batch);
    const whole = await gpuGradients(ctx, loaded, adapter, [batch], n);
    const parts = [{ sequences: batch.sequences.slice(0, 2) }, { sequences: batch.sequences.slice(2) }];
    const split = await gpuGradients(ctx, loaded, adapter, parts, n);
    expect(split.trained[0] + split.trained[1]).toBe(n);
    expect(Math.abs(split.lossSums[0] + split.lossSums[1] - whole.lossSums[0]) / whole.lossSums[0]).toBeLessThanOrEqual(SPLIT_TOL);
    const paths = adapter.modules.map((m) => m.path);
    expectClose('two micro-batches vs one batch', gradError(split.grads, whole.grads, paths), SPLIT_TOL);

    const f16 = await gpuGradients(ctx, loaded, adapter, [batch], n, { weightFormat: 'f16' });
    console.log(`f16 weights: loss ${f16.lossSums[0] / n} vs f32 ${whole.lossSums[0] / n}`);
    expect(Math.abs(f16.lossSums[0] - whole.lossSums[0]) / whole.lossSums[0]).toBeLessThanOrEqual(1e-3);
    expectClose('f16 base weights vs f32', gradError(f16.grads, whole.grads, paths), F16_TOL);

    // A 1024-byte binding limit splits every matrix by rows (5 rows of 48 f32 per part: the LM head in 103
    // parts, its vocabulary chunks walked part by part); only the summation order of split products changes.
    const split1k = await gpuGradients(ctx, loaded, adapter, [batch], n, { maxBindingBytes: 1024 });
    expect(Math.abs(split1k.lossSums[0] - whole.lossSums[0]) / whole.lossSums[0]).toBeLessThanOrEqual(SPLIT_TOL);
    expectClose('weights split by a 1024-byte binding limit vs whole', gradError(split1k.grads, whole.grads, paths), SPLIT_TOL);
  });

  it('tiny qwen2: 2 optimizer steps of 2 micro-batches with clipping and weight decay equal cpuTrainSteps', async () => {
    const { loaded, cpu } = tiny.get('qwen2')!;
    const ctx = await testGpu();
    const adapter = trainedAdapter(loaded, ALL_LINEAR, 14);
    const batch = tinyBatch(loaded.config.vocabSize, 10);
    const hyper: OptimizerHyper = { lr: 2e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 0.5 };
    const ref = cpuTrainSteps(cpu, adapter, batch, hyper, 2);
    expect(ref.gradNorms[0], 'the norm is clipped').toBeGreaterThan(hyper.maxGradNorm);
    const model = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat: 'f32' });
    const gpuAdapter = GpuLoraAdapter.create(ctx, adapter);
    const trainer = GpuTrainer.create(model, gpuAdapter);
    try {
      await expect(trainer.optimizerStep(hyper)).rejects.toThrow(/without any accumulated micro-batch/);
      const parts = [{ sequences: batch.sequences.slice(0, 1) }, { sequences: batch.sequences.slice(1) }];
      for (let k = 0; k < 2; k++) {
        const r = await sftTrainStep(trainer, parts, hyper);
        expect(Math.abs(r.loss - ref.losses[k]) / ref.losses[k]).toBeLessThanOrEqual(LOSS_TOL);
        expect(Math.abs(r.gradNorm - ref.gradNorms[k]) / ref.gradNorms[k]).toBeLessThanOrEqual(1e-5);
      }
      const trained = planAdapter(loaded.config.architecture, loaded.weights, ALL_LINEAR);
      await gpuAdapter.download(trained);
      const paths = adapter.modules.map((m) => m.path);
      expectClose('2 clipped steps of 2 micro-batches vs float64', gradError(trained.modules, ref.adapter.modules, paths), STEPS_TOL);
      // The gradients were cleared by the optimizer step.
      expect((await gpuAdapter.readGrads()).every((g) => g.a.every((x) => x === 0) && g.b.every((x) => x === 0))).toBe(true);
    } finally {
      trainer.dispose();
      gpuAdapter.dispose();
      model.dispose();
    }
  });
});

describe('fused projections', () => {
  /** Dispatches and buffer copies recorded while `body` runs (every step the context makes). */
  async function counting<T>(ctx: GpuContext, body: () => Promise<T>): Promise<{ result: T; dispatches: number; copies: number }> {
    const original = ctx.step;
    let dispatches = 0;
    let copies = 0;
    ctx.step = () => {
      const step = original.call(ctx);
      const dispatch = step.dispatch.bind(step);
      step.dispatch = (...args) => {
        dispatches++;
        dispatch(...args);
      };
      const copy = step.copy.bind(step);
      step.copy = (...args) => {
        copies++;
        copy(...args);
      };
      return step;
    };
    try {
      return { result: await body(), dispatches, copies };
    } finally {
      ctx.step = original;
    }
  }

  /** f32 bytes of the largest linear weight, of the largest tensor stored whole (with the embedding and head), and of a layer's seven linear weights. */
  function sizes(loaded: LoadedModel): { matrix: number; largest: number; layer: number } {
    const layer = loaded.weights.layers[0];
    const matrices = [layer.q, layer.k, layer.v, layer.o, layer.gate!, layer.up, layer.down].map((m) => m.weight.shape[0] * m.weight.shape[1] * 4);
    const embedding = loaded.weights.tokenEmbedding.shape[0] * loaded.weights.tokenEmbedding.shape[1] * 4;
    const head = loaded.weights.tied ? 0 : loaded.weights.lmHead.shape[0] * loaded.weights.lmHead.shape[1] * 4;
    return { matrix: Math.max(...matrices), largest: Math.max(embedding, head, ...matrices), layer: matrices.reduce((a, b) => a + b, 0) };
  }

  for (const kind of ['llama', 'qwen2'] as const) {
    it(`tiny ${kind}: q/k/v and gate/up as one product each, or per slot into their columns when each matrix has its own buffer; both equal the reference`, async () => {
      const { loaded, cpu } = tiny.get(kind)!;
      const ctx = await testGpu();
      const adapter = trainedAdapter(loaded, ALL_LINEAR, 13);
      const batch = tinyBatch(loaded.config.vocabSize, 7);
      const n = trainedTokens(batch);
      const ref = cpuLoraLossAndGrads(cpu, adapter, batch);
      // A binding that holds each matrix but not a layer's seven: one buffer each, no fused views. (Llama's
      // head is larger than a layer here, so its head is split too: the dispatch count differs by more.)
      const { matrix, largest, layer } = sizes(loaded);
      const limit = kind === 'qwen2' ? largest : matrix;
      const [packed, unpacked] = await Promise.all([undefined, limit].map((maxBindingBytes) => uploadWeights(ctx, loaded.config, loaded.weights, { weightFormat: 'f32', maxBindingBytes })));
      const { numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F } = loaded.config;
      expect([packed.layers[0].qkv?.rows, packed.layers[0].gateUp?.rows]).toEqual([(Hq + 2 * Hkv) * D, 2 * F]);
      expect([unpacked.layers[0].qkv, unpacked.layers[0].gateUp]).toEqual([undefined, undefined]);
      for (const b of [...packed.buffers, ...unpacked.buffers]) b.destroy();

      const fused = await counting(ctx, () => gpuGradients(ctx, loaded, adapter, [batch], n));
      const apart = await counting(ctx, () => gpuGradients(ctx, loaded, adapter, [batch], n, { maxBindingBytes: limit }));
      for (const [label, run] of [['fused', fused.result], ['per slot', apart.result]] as const) {
        expect(Math.abs(run.lossSums[0] - ref.lossSum) / ref.lossSum, `${label} loss`).toBeLessThanOrEqual(LOSS_TOL);
        expectClose(`tiny ${kind} ${label} gradients vs float64`, gradError(run.grads, ref.grads, adapter.modules.map((m) => m.path)), GRAD_TOL);
      }
      if (kind === 'qwen2') {
        // Nothing else is split at this limit: per layer, forward and backward, q, k, v take three products
        // instead of one and gate, up two instead of one.
        expect(largest).toBeLessThan(layer);
        expect(apart.dispatches - fused.dispatches).toBe(6 * loaded.config.numLayers);
      }
      // The o and down products add the residual as they store: the only copies are the two readbacks (row
      // losses, then the gradients), not two residual copies per layer.
      expect(fused.copies).toBe(2);
    });
  }
});

describe('allocation plan', () => {
  it('is made once per batch shape and objective: the same object again, a new one for another shape', async () => {
    const { loaded } = tiny.get('llama')!;
    const ctx = await testGpu();
    const model = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat: 'f32' });
    const gpuAdapter = GpuLoraAdapter.create(ctx, trainedAdapter(loaded, ALL_LINEAR, 15));
    const trainer = GpuTrainer.create(model, gpuAdapter);
    try {
      const rule = { kind: 'constant', scale: 1 } as const;
      const batch = tinyBatch(loaded.config.vocabSize, 8);
      const first = trainer.allocationPlan(batch, rule);
      // Other tokens, the same lengths: the plan made for the first serves.
      expect(trainer.allocationPlan(tinyBatch(loaded.config.vocabSize, 9), rule)).toBe(first);
      const longer = { sequences: [...batch.sequences, batch.sequences[0]] };
      const other = trainer.allocationPlan(longer, rule);
      expect(other).not.toBe(first);
      expect(other.totalBytes).toBeGreaterThan(first.totalBytes);
      // With the optimizer in the submit the plan holds its buffers too.
      expect(trainer.allocationPlan(batch, rule, { optimizer: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 } }).totalBytes).toBeGreaterThan(first.totalBytes);
    } finally {
      trainer.dispose();
      gpuAdapter.dispose();
      model.dispose();
    }
  });
});

describe('LoRA down groups', () => {
  it("tiny llama, all-linear: q, k, v and gate, up project their shared inputs through their back-to-back A's as one group each; none with dropout unless only generated with", async () => {
    const { loaded } = tiny.get('llama')!;
    const ctx = await testGpu();
    for (const [dropout, inferenceOnly] of [[0, false], [0.1, false], [0.1, true]] as const) {
      const adapter = trainedAdapter(loaded, { ...ALL_LINEAR, dropout }, 14);
      const gpuAdapter = GpuLoraAdapter.create(ctx, adapter, { inferenceOnly });
      try {
        const slots = gpuAdapter.layers[1];
        const groups = (['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const).map((slot) => slots[slot]!.group && [slots[slot]!.group!.modules, slots[slot]!.group!.index]);
        expect(gpuAdapter.dropout).toBe(inferenceOnly ? 0 : dropout);
        if (dropout === 0 || inferenceOnly) {
          expect(groups).toEqual([[3, 0], [3, 1], [3, 2], undefined, [2, 0], [2, 1], undefined]);
          // The group's A is q's, and k's and v's follow it with no gap.
          expect(slots.k!.offsetA).toBe(slots.q!.offsetA + ALL_LINEAR.r * loaded.config.hiddenSize);
          expect(slots.q!.group!.offsetA).toBe(slots.q!.offsetA);
        } else {
          expect(groups.every((g) => g === undefined)).toBe(true);
        }
      } finally {
        gpuAdapter.dispose();
      }
    }
  });
});

describe('LoRA dropout', () => {
  it('kernel self-check: GPU masks equal the CPU hash bit for bit', async () => {
    const ctx = await testGpu();
    for (const check of dropoutChecks) {
      for (const o of await check.run(ctx)) {
        console.log(o.detail);
        expect(o.pass, o.detail).toBe(true);
      }
    }
  });

  it('the CPU hash masks: deterministic, about 1 - p kept, independent across modules and steps', () => {
    const p = 0.25;
    const count = 20000;
    const stream = { seed: 5, step: 2, micro: 1, module: 3 };
    const mask = dropoutMask(p, dropoutKey(stream), 0, count);
    expect(dropoutMask(p, dropoutKey({ ...stream }), 0, count)).toEqual(mask);
    const kept = (m: Float64Array) => m.reduce((n, x) => n + (x !== 0 ? 1 : 0), 0) / count;
    expect(Math.abs(kept(mask) - (1 - p))).toBeLessThan(0.02);
    expect(mask.every((x) => x === 0 || x === Math.fround(1 / (1 - p)))).toBe(true);
    // Independent masks agree on p^2 + (1 - p)^2 of the elements; equal or shifted ones would agree on more.
    for (const other of [{ ...stream, module: 4 }, { ...stream, step: 3 }, { ...stream, micro: 0 }, { ...stream, seed: 6 }]) {
      const m = dropoutMask(p, dropoutKey(other), 0, count);
      const agree = m.reduce((n, x, i) => n + ((x === 0) === (mask[i] === 0) ? 1 : 0), 0) / count;
      expect(Math.abs(agree - (p * p + (1 - p) * (1 - p)))).toBeLessThan(0.02);
    }
    // Element i of a sequence starting at row r is element r * in + i of the stream.
    expect(dropoutMask(p, dropoutKey(stream), 640, 100)).toEqual(mask.slice(640, 740));
  });

  it('tiny GPT-2 (c_attn shares one mask): gradients equal the reference fed the same hash masks', async () => {
    const { loaded, cpu } = tiny.get('gpt2')!;
    const ctx = await testGpu();
    const config = { ...ALL_LINEAR, dropout: 0.3 };
    const adapter = trainedAdapter(loaded, config, 13);
    const batch = tinyBatch(loaded.config.vocabSize, 8);
    const n = trainedTokens(batch);
    const seed = 77;
    const starts = [0, 7, 14];
    // The trainer's first micro-batch of its first step: stream (seed, step 1, micro 0, module).
    const dropoutMasks: DropoutMasks = (s, module) => {
      const inF = adapter.modules[module].inFeatures;
      const key = dropoutKey({ seed, step: 1, micro: 0, module });
      return dropoutMask(config.dropout, key, starts[s] * inF, batch.sequences[s].inputIds.length * inF);
    };
    const ref = cpuLoraLossAndGrads(cpu, adapter, batch, { dropoutMasks });
    const got = await gpuGradients(ctx, loaded, adapter, [batch], n, { seed });
    expect(Math.abs(got.lossSums[0] - ref.lossSum) / ref.lossSum).toBeLessThanOrEqual(LOSS_TOL);
    const paths = adapter.modules.map((m) => m.path);
    expectClose('dropout 0.3 gradients vs float64 with the same masks', gradError(got.grads, ref.grads, paths), GRAD_TOL);

    const again = await gpuGradients(ctx, loaded, adapter, [batch], n, { seed, recompute: true });
    expect(bitEqual(again.grads, got.grads), 'same seed (and recomputation): the same masks').toBe(true);
    const noDropout = cpuLoraLossAndGrads(cpu, { ...adapter, config: { ...config, dropout: 0 } }, batch);
    expect(gradError(got.grads, noDropout.grads, paths).worst, 'dropout changes the gradients').toBeGreaterThan(1e-2);
  });
});

describe('AdamW steps on stories260K', () => {
  it('K = 5 steps (batch 1, no clipping, constant lr) end with the float64 reference adapter', async () => {
    const ctx = await testGpu();
    const loaded = await loadModel(STORIES260K_DIR);
    const cpu = buildCpuTrainModel(loaded.config, loaded.weights);
    const ids = storiesTokenizer().encode('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.', { addSpecialTokens: true });
    const inputIds = Int32Array.from(ids);
    const batch: TrainBatch = { sequences: [{ inputIds, labels: shiftedLabels(inputIds) }] };
    const config: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: ['all-linear'], useRslora: false };
    const adapter = trainedAdapter(loaded, config, 21);
    const hyper: OptimizerHyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 0 };
    const K = 5;
    const ref = cpuTrainSteps(cpu, adapter, batch, hyper, K);

    const model = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat: 'f32' });
    const gpuAdapter = GpuLoraAdapter.create(ctx, adapter);
    const trainer = GpuTrainer.create(model, gpuAdapter);
    try {
      const losses: number[] = [];
      const norms: number[] = [];
      const bindGroupsMade: number[] = [];
      for (let k = 0; k < K; k++) {
        const r = await sftTrainStep(trainer, [batch], hyper);
        losses.push(r.loss);
        norms.push(r.gradNorm);
        bindGroupsMade.push(ctx.bindGroups.misses);
      }
      expect(trainer.step).toBe(K);
      // Steps after the first reuse every bind group (same temporaries, parameters at arena offsets).
      console.log(`bind groups made after each step: ${bindGroupsMade.join(' ')}`);
      expect(bindGroupsMade[1]).toBeGreaterThan(0);
      expect(bindGroupsMade[K - 1]).toBe(bindGroupsMade[1]);
      console.log(`stories260K losses gpu ${losses.map((l) => l.toFixed(6)).join(' ')}\n                   ref ${ref.losses.map((l) => l.toFixed(6)).join(' ')}`);
      console.log(`grad norms gpu ${norms.map((x) => x.toPrecision(6)).join(' ')} ref ${ref.gradNorms.map((x) => x.toPrecision(6)).join(' ')}`);
      expect(Math.abs(losses[0] - ref.losses[0]) / ref.losses[0]).toBeLessThanOrEqual(LOSS_TOL);
      expect(losses[K - 1]).toBeLessThan(losses[0]);
      norms.forEach((x, i) => expect(Math.abs(x - ref.gradNorms[i]) / ref.gradNorms[i]).toBeLessThanOrEqual(1e-4));

      const trained = planAdapter(loaded.config.architecture, loaded.weights, config);
      await gpuAdapter.download(trained);
      const paths = adapter.modules.map((m) => m.path);
      expectClose(`A and B after ${K} AdamW steps vs float64`, gradError(trained.modules, ref.adapter.modules, paths), STEPS_TOL);
      // The steps moved the adapter far more than the tolerance.
      expect(gradError(adapter.modules, ref.adapter.modules, paths).worst).toBeGreaterThan(100 * STEPS_TOL);
    } finally {
      trainer.dispose();
      gpuAdapter.dispose();
      model.dispose();
    }
  });
});
