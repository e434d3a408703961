import type { GpuContext } from '../../gpu/context';
import { packF16, roundToF16 } from '../../gpu/f16';
import {
  crossEntropyBackward,
  crossEntropyChunkStats,
  crossEntropyFinalize,
  crossEntropyForward,
  lmHeadLossBackward,
  lmHeadLossForward,
  LSE_STRIDE,
  STATE_STRIDE,
} from '../../ops/cpu/cross-entropy';
import {
  CE_LSE_BYTES_PER_ROW,
  CE_RESULT_BYTES,
  CE_STATE_BYTES_PER_ROW,
  crossEntropyChunkBackward,
  crossEntropyChunkStats as gpuChunkStats,
  crossEntropyFinalize as gpuFinalize,
} from '../../ops/gpu/cross-entropy';
import { lmHeadLoss, type LmHeadBackwardOptions } from '../../ops/gpu/lm-head-loss';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

// Row losses are (m - x_t) + log(sum of V f32 exps): the sum's relative error becomes log's absolute error.
const forwardTolerance = { atol: 5e-6, rtol: 2e-6 };
// softmax - onehot from exp((x - m) - logSum): a few f32 ulps relative, scaled by 1 / trained rows.
const backwardTolerance = { atol: 1e-8, rtol: 2e-5 };
// Through the LM head the logits come from an f32 matmul over C channels, which adds its rounding to the loss;
// dh and dW sum V (resp. N) f32 products of dlogits.
const lmHeadForwardTolerance = { atol: 5e-6, rtol: 5e-6 };
const lmHeadBackwardTolerance = { atol: 1e-7, rtol: 1e-5 };

export interface CrossEntropyCase {
  label: string;
  rows: number;
  vocab: number;
  chunk: number;
  logits: Float32Array;
  targets: Int32Array;
  gradScale?: number;
  /** (N) each row's own gradient scale (an objective's d loss / d row loss); overrides gradScale. */
  rowScales?: Float32Array;
}

export interface ChunkedCrossEntropyResult {
  /** [mean, sum, trained rows, 1 / trained rows] */
  result: Float32Array;
  rowLoss: Float32Array;
  /** (N, 2): row max, log sum exp(x - max) */
  lse: Float32Array;
  /** (N, V), reassembled from the chunks */
  dlogits: Float32Array;
}

function sliceColumns(full: Float32Array, rows: number, vocab: number, v0: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) out.set(full.subarray(i * vocab + v0, i * vocab + v0 + cols), i * cols);
  return out;
}

/** Runs the chunk kernels on logits handed over chunk by chunk (no matmul): forward, then backward. */
export async function runChunkedCrossEntropy(ctx: GpuContext, c: CrossEntropyCase): Promise<ChunkedCrossEntropyResult> {
  const { rows, vocab, chunk } = c;
  const chunks: { v0: number; cols: number; buffer: GPUBuffer }[] = [];
  for (let v0 = 0; v0 < vocab; v0 += chunk) {
    const cols = Math.min(chunk, vocab - v0);
    chunks.push({ v0, cols, buffer: ctx.upload(sliceColumns(c.logits, rows, vocab, v0, cols)) });
  }
  const targets = ctx.upload(c.targets);
  const state = ctx.createBuffer(rows * CE_STATE_BYTES_PER_ROW);
  const lse = ctx.createBuffer(rows * CE_LSE_BYTES_PER_ROW);
  const rowLoss = ctx.createBuffer(rows * 4);
  const result = ctx.createBuffer(CE_RESULT_BYTES);
  const rowScale = c.rowScales && ctx.upload(c.rowScales);

  const step = ctx.step();
  for (const k of chunks) gpuChunkStats(step, state, k.buffer, targets, rows, k.cols, k.v0, k.v0 === 0);
  gpuFinalize(step, result, lse, rowLoss, state, targets, rows);
  // The backward overwrites each chunk in place with its dlogits.
  for (const k of chunks) {
    crossEntropyChunkBackward(step, k.buffer, targets, lse, result, rows, k.cols, k.v0, { gradScale: c.gradScale, rowScale });
  }
  await step.submit();

  const out: ChunkedCrossEntropyResult = {
    result: await ctx.readF32(result, 4),
    rowLoss: await ctx.readF32(rowLoss, rows),
    lse: await ctx.readF32(lse, rows * LSE_STRIDE),
    dlogits: new Float32Array(rows * vocab),
  };
  for (const k of chunks) {
    const g = await ctx.readF32(k.buffer, rows * k.cols);
    for (let i = 0; i < rows; i++) out.dlogits.set(g.subarray(i * k.cols, (i + 1) * k.cols), i * vocab + k.v0);
  }
  for (const b of [targets, state, lse, rowLoss, result, ...chunks.map((k) => k.buffer)]) b.destroy();
  rowScale?.destroy();
  return out;
}

/** Float64 references: the full-vocabulary definition, and the chunked lse (same split as the GPU's). */
export function crossEntropyReference(c: CrossEntropyCase): {
  result: Float64Array;
  rowLoss: Float64Array;
  lse: Float64Array;
  dlogits: Float64Array;
} {
  const { rows, vocab, chunk, targets } = c;
  const logits = Float64Array.from(c.logits);
  const rowLoss = new Float64Array(rows);
  const s = crossEntropyForward(rowLoss, logits, targets, rows, vocab);
  const result = Float64Array.of(s.mean, s.sum, s.count, s.count > 0 ? 1 / s.count : 0);
  const state = new Float64Array(rows * STATE_STRIDE);
  for (let v0 = 0; v0 < vocab; v0 += chunk) {
    const cols = Math.min(chunk, vocab - v0);
    const chunkLogits = Float64Array.from(sliceColumns(c.logits, rows, vocab, v0, cols));
    crossEntropyChunkStats(state, chunkLogits, targets, rows, cols, v0, v0 === 0);
  }
  const lse = new Float64Array(rows * LSE_STRIDE);
  crossEntropyFinalize(lse, new Float64Array(rows), state, targets, rows);
  const dlogits = new Float64Array(rows * vocab);
  crossEntropyBackward(dlogits, logits, targets, rows, vocab, c.rowScales ?? c.gradScale);
  return { result, rowLoss, lse, dlogits };
}

/** Random logits in [-4, 4) plus a per-row offset; targets drawn from the vocabulary, some set to -100. */
export function makeCrossEntropyCase(
  seed: number,
  label: string,
  rows: number,
  vocab: number,
  chunk: number,
  options: { ignore?: number[]; offsets?: number[]; gradScale?: number; rowScales?: boolean } = {},
): CrossEntropyCase {
  const rng = new Rng(seed);
  const logits = rng.f32(rows * vocab, -4, 4);
  const offsets = options.offsets ?? [0];
  for (let i = 0; i < rows; i++) {
    const off = offsets[i % offsets.length];
    for (let j = 0; j < vocab; j++) logits[i * vocab + j] += off;
  }
  const targets = new Int32Array(rows);
  for (let i = 0; i < rows; i++) targets[i] = rng.int(vocab);
  for (const i of options.ignore ?? []) targets[i] = -100;
  // Signed per-row scales, as a preference objective gives (chosen rows pulled up, rejected pushed down).
  const rowScales = options.rowScales ? rng.f32(rows, -0.5, 0.5) : undefined;
  return { label, rows, vocab, chunk, logits, targets, gradScale: options.gradScale, rowScales };
}

export const crossEntropyCases = (): CrossEntropyCase[] => [
  // one chunk, fewer columns than a workgroup
  makeCrossEntropyCase(21, 'N=3 V=37 one chunk', 3, 37, 37),
  // several chunks, the last one short; ignored rows; sizes that are no multiple of the workgroup
  makeCrossEntropyCase(22, 'N=7 V=1000 Vc=256, 2 ignored', 7, 1000, 256, { ignore: [1, 5] }),
  // targets at the chunk edges are exercised by many rows against many small chunks
  makeCrossEntropyCase(23, 'N=33 V=130 Vc=13', 33, 130, 13, { ignore: [0] }),
  // large logits: offsets up to 3e4 (f32 ulp 2e-3) must not lose the loss's digits
  makeCrossEntropyCase(24, 'N=6 V=300 Vc=64, offsets to 3e4', 6, 300, 64, {
    offsets: [1e4, -1e4, 3e4, 0, 2.9e4, -3e4],
  }),
  // chunks long enough for the 256-wide statistics workgroup
  makeCrossEntropyCase(27, 'N=3 V=5000 Vc=2500', 3, 5000, 2500, { ignore: [1] }),
  // all rows ignored: loss 0, not NaN, and zero gradient
  makeCrossEntropyCase(25, 'N=4 V=50 all ignored', 4, 50, 16, { ignore: [0, 1, 2, 3] }),
  // an explicit gradient scale (gradient accumulation over micro-batches)
  makeCrossEntropyCase(26, 'N=5 V=90 Vc=40 gradScale=0.01', 5, 90, 40, { ignore: [2], gradScale: 0.01 }),
  // each row's own scale (an objective's per-row gradient, e.g. DPO's)
  makeCrossEntropyCase(28, 'N=6 V=200 Vc=64 per-row scales', 6, 200, 64, { ignore: [3], rowScales: true }),
];

function combinedLse(lse: ArrayLike<number>, rows: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) out[i] = lse[i * LSE_STRIDE] + lse[i * LSE_STRIDE + 1];
  return out;
}

export interface LmHeadCase {
  label: string;
  rows: number;
  channels: number;
  vocab: number;
  hidden: Float32Array;
  /** (V, C) f32 values; with weightFormat 'f16' they are rounded to f16 before use (CPU and GPU alike). */
  weight: Float32Array;
  targets: Int32Array;
  options: LmHeadBackwardOptions;
}

export interface LmHeadResult {
  result: Float32Array;
  rowLoss: Float32Array;
  dHidden: Float32Array;
  dWeight: Float32Array;
}

export function makeLmHeadCase(
  seed: number,
  label: string,
  dims: { rows: number; channels: number; vocab: number },
  options: LmHeadBackwardOptions = {},
  ignore: number[] = [],
): LmHeadCase {
  const rng = new Rng(seed);
  const hidden = rng.f32(dims.rows * dims.channels, -1, 1);
  let weight = rng.f32(dims.vocab * dims.channels, -1, 1);
  if (options.weightFormat === 'f16') weight = roundToF16(weight);
  const targets = new Int32Array(dims.rows);
  for (let i = 0; i < dims.rows; i++) targets[i] = rng.int(dims.vocab);
  for (const i of ignore) targets[i] = -100;
  return { label, ...dims, hidden, weight, targets, options };
}

/** Forward and backward through the LM head on the GPU (one step), dW included. */
export interface LmHeadGrads {
  dHidden: Float32Array;
  dWeight: Float32Array;
}

export async function runLmHead(ctx: GpuContext, c: LmHeadCase, initialGrads?: LmHeadGrads): Promise<LmHeadResult> {
  const { rows, channels, vocab } = c;
  const hidden = ctx.upload(c.hidden);
  const weight = ctx.upload(c.options.weightFormat === 'f16' ? packF16(c.weight) : c.weight);
  const targets = ctx.upload(c.targets);
  const result = ctx.createBuffer(CE_RESULT_BYTES);
  const lse = ctx.createBuffer(rows * CE_LSE_BYTES_PER_ROW);
  const rowLoss = ctx.createBuffer(rows * 4);
  const dHidden = initialGrads ? ctx.upload(initialGrads.dHidden) : ctx.createBuffer(rows * channels * 4);
  const dWeight = initialGrads ? ctx.upload(initialGrads.dWeight) : ctx.createBuffer(vocab * channels * 4);
  const step = ctx.step();
  const io = { hidden, weight, targets, result, lse, rowLoss, dHidden, dWeight };
  lmHeadLoss(step, io, { rows, channels, vocab }, c.options);
  await step.submit();
  const out: LmHeadResult = {
    result: await ctx.readF32(result, 4),
    rowLoss: await ctx.readF32(rowLoss, rows),
    dHidden: await ctx.readF32(dHidden, rows * channels),
    dWeight: await ctx.readF32(dWeight, vocab * channels),
  };
  for (const b of [hidden, weight, targets, result, lse, rowLoss, dHidden, dWeight]) b.destroy();
  return out;
}

/** Float64 reference over the full vocabulary (the logits materialised). */
export function lmHeadReference(c: LmHeadCase, initialGrads?: LmHeadGrads): {
  result: Float64Array;
  rowLoss: Float64Array;
  dHidden: Float64Array;
  dWeight: Float64Array;
} {
  const { rows, channels, vocab, targets } = c;
  const h = Float64Array.from(c.hidden);
  const W = Float64Array.from(c.weight);
  const rowLoss = new Float64Array(rows);
  const s = lmHeadLossForward(rowLoss, h, W, targets, rows, channels, vocab);
  const dHidden = initialGrads ? Float64Array.from(initialGrads.dHidden) : new Float64Array(rows * channels);
  const dWeight = initialGrads ? Float64Array.from(initialGrads.dWeight) : new Float64Array(vocab * channels);
  const scale = c.options.gradScale ?? (s.count > 0 ? 1 / s.count : 0);
  lmHeadLossBackward(dHidden, dWeight, h, W, targets, rows, channels, vocab, scale);
  return { result: Float64Array.of(s.mean, s.sum, s.count, s.count > 0 ? 1 / s.count : 0), rowLoss, dHidden, dWeight };
}

export const lmHeadCases = (): LmHeadCase[] => [
  // chunks of 128 columns: every W chunk is bound as its own aligned sub-range; an ignored row
  makeLmHeadCase(31, 'f32 N=6 C=16 V=1000 Vc=128', { rows: 6, channels: 16, vocab: 1000 }, { chunkColumns: 128 }, [4]),
  // f16 weights at odd element offsets (C odd, chunks of 51): W chunks passed to matmul as offsetB
  makeLmHeadCase(34, 'f16 N=3 C=9 V=211 Vc=51', { rows: 3, channels: 9, vocab: 211 }, {
    weightFormat: 'f16',
    chunkColumns: 51,
  }),
  // T = 1 (one row), the default chunk (the whole vocabulary fits the budget), an explicit gradient scale
  makeLmHeadCase(35, 'f32 N=1 C=8 V=300 default chunk, gradScale 1/8', { rows: 1, channels: 8, vocab: 300 }, {
    gradScale: 0.125,
  }),
];

export const crossEntropyChecks: KernelCheck[] = [
  {
    name: 'cross_entropy.forward',
    tolerance: forwardTolerance,
    async run(ctx) {
      const results: CheckOutcome[] = [];
      for (const c of crossEntropyCases()) {
        const got = await runChunkedCrossEntropy(ctx, c);
        const want = crossEntropyReference(c);
        results.push(outcome(`${c.label}: mean, sum, count, 1/count`, got.result, want.result, forwardTolerance));
        results.push(outcome(`${c.label}: row losses`, got.rowLoss, want.rowLoss, forwardTolerance));
        const [gotLse, wantLse] = [combinedLse(got.lse, c.rows), combinedLse(want.lse, c.rows)];
        results.push(outcome(`${c.label}: logsumexp`, gotLse, wantLse, forwardTolerance));
      }
      return results;
    },
  },
  {
    name: 'cross_entropy.backward',
    tolerance: backwardTolerance,
    async run(ctx) {
      const results: CheckOutcome[] = [];
      for (const c of crossEntropyCases()) {
        const got = await runChunkedCrossEntropy(ctx, c);
        const want = crossEntropyReference(c);
        results.push(outcome(`${c.label}: dlogits`, got.dlogits, want.dlogits, backwardTolerance));
      }
      return results;
    },
  },
  {
    name: 'lm_head_loss.forward',
    tolerance: lmHeadForwardTolerance,
    async run(ctx) {
      const results: CheckOutcome[] = [];
      for (const c of lmHeadCases()) {
        const got = await runLmHead(ctx, c);
        const want = lmHeadReference(c);
        results.push(outcome(`${c.label}: mean, sum, count, 1/count`, got.result, want.result, lmHeadForwardTolerance));
        results.push(outcome(`${c.label}: row losses`, got.rowLoss, want.rowLoss, lmHeadForwardTolerance));
      }
      return results;
    },
  },
  {
    name: 'lm_head_loss.backward',
    tolerance: lmHeadBackwardTolerance,
    async run(ctx) {
      const results: CheckOutcome[] = [];
      for (const c of lmHeadCases()) {
        const got = await runLmHead(ctx, c);
        const want = lmHeadReference(c);
        results.push(outcome(`${c.label}: dh`, got.dHidden, want.dHidden, lmHeadBackwardTolerance));
        results.push(outcome(`${c.label}: dW`, got.dWeight, want.dWeight, lmHeadBackwardTolerance));
      }
      return results;
    },
  },
];
