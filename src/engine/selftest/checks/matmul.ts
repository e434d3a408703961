// Self-checks of the matmul dispatcher (src/engine/ops/gpu/matmul.ts) against the float64 CPU reference, on
// seeded data and the adapter's default variant. runMatmulCase is also what tests/gpu/matmul.test.ts
// drives across variants, shapes and flags.

import type { GpuContext } from '../../gpu/context';
import { packF16, roundToF16 } from '../../gpu/f16';
import { matmulForward } from '../../ops/cpu/matmul';
import { itemExtent, lastItemBase, matmulLayout } from '../../ops/matmul-dims';
import { matmul, type MatmulDims, type MatrixFormat } from '../../ops/gpu/matmul';
import { Rng } from '../../util/rng';
import type { Tolerance } from '../compare';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

/**
 * f32 GPU vs float64 reference, inputs in [-1, 1): each output sums k products in f32, so the rounding
 * error grows with k. atol = 1e-6 + 8e-8 * k (3.6e-6 at k = 33, 2.1e-5 at k = 256, 8.3e-5 at k = 1024),
 * rtol = 1e-5 for the bias / accumulated part. Measured on SwiftShader (k = 33, 256, 1024): the register
 * kernels reach 0.17-0.33 of atol, shared64 (one long sequential sum per output) 0.3-0.62. f16 B is compared
 * against the reference on roundToF16(B), which is exactly what the kernels read, so the same tolerance
 * holds.
 */
export function matmulTolerance(k: number): Tolerance {
  return { atol: 1e-6 + 8e-8 * k, rtol: 1e-5 };
}

export interface MatmulCase {
  dims: MatmulDims;
  bFormat?: MatrixFormat;
  alpha?: number;
  bias?: boolean;
  /** Element of the bias buffer where column 0's value sits (a layer's biases share one buffer). */
  biasOffset?: number;
  /** out = A B + a residual laid out like out (a residual connection without a copy). */
  residual?: boolean;
  accumulate?: boolean;
  variant?: string;
  seed: number;
}

/** Elements an operand's buffer needs: its last item's base plus one item's span. */
function extent(dims: MatmulDims, operand: 'A' | 'B' | 'C'): number {
  const layout = matmulLayout(dims);
  return lastItemBase(layout, operand) + itemExtent(layout, operand);
}

export function describeCase(c: MatmulCase): string {
  const d = c.dims;
  const flags = [
    d.transA ? 'transA' : '',
    d.transB ? 'transB' : '',
    d.batch ? `batch ${d.batch}` : '',
    d.strideB === 0 ? 'B broadcast' : '',
    d.offsetA || d.offsetB || d.offsetC ? `offsets ${d.offsetA ?? 0}/${d.offsetB ?? 0}/${d.offsetC ?? 0}` : '',
    d.lda !== undefined || d.ldb !== undefined || d.ldc !== undefined ? `ld ${d.lda ?? '-'}/${d.ldb ?? '-'}/${d.ldc ?? '-'}` : '',
    d.inner !== undefined ? `items (${Math.ceil((d.batch ?? 1) / d.inner)}, ${d.inner}) groups ${d.groupA ?? 1}/${d.groupB ?? 1}/${d.groupC ?? 1}` : '',
    c.bFormat === 'f16' ? 'f16 B' : '',
    c.alpha !== undefined ? `alpha ${c.alpha}` : '',
    c.bias ? (c.biasOffset ? `bias at ${c.biasOffset}` : 'bias') : '',
    c.residual ? 'residual' : '',
    c.accumulate ? 'accumulate' : '',
    c.variant ?? '',
  ].filter(Boolean);
  return `${d.m}x${d.k}x${d.n}${flags.length ? ' ' + flags.join(' ') : ''}`;
}

/** Runs one product on the GPU and compares the whole out buffer (untouched parts included) with the reference. */
export async function runMatmulCase(ctx: GpuContext, c: MatmulCase): Promise<CheckOutcome> {
  const { k, n } = c.dims;
  const rng = new Rng(c.seed);
  const aLen = extent(c.dims, 'A');
  const bLen = extent(c.dims, 'B');
  const cLen = extent(c.dims, 'C');
  const a = rng.f32(aLen);
  const bValues = rng.f32(bLen);
  const initial = rng.f32(cLen);
  const biasOffset = c.biasOffset ?? 0;
  const bias = c.bias ? rng.f32(biasOffset + n) : undefined;
  const f16 = c.bFormat === 'f16';
  const buffers = [ctx.upload(a), ctx.upload(f16 ? packF16(bValues) : bValues), ctx.upload(initial)];
  const residual = c.residual ? rng.f32(cLen) : undefined;
  if (bias) buffers.push(ctx.upload(bias));
  if (residual) buffers.push(ctx.upload(residual));
  const [ab, bb, ob, extra] = buffers;
  try {
    const step = ctx.step();
    matmul(step, ob, ab, bb, c.dims, {
      bFormat: c.bFormat,
      alpha: c.alpha,
      accumulate: c.accumulate,
      bias: bias && extra,
      biasOffset: c.biasOffset,
      residual: residual && extra,
      variant: c.variant,
    });
    await step.submit();
    const got = await ctx.readF32(ob, cLen);
    const want = Float64Array.from(initial);
    const bRef = Float64Array.from(f16 ? roundToF16(bValues) : bValues);
    matmulForward(want, Float64Array.from(a), bRef, c.dims, {
      alpha: c.alpha,
      accumulate: c.accumulate,
      bias: bias && Float64Array.from(bias.subarray(biasOffset)),
      residual: residual && Float64Array.from(residual),
    });
    return outcome(describeCase(c), got, want, matmulTolerance(k));
  } finally {
    for (const buffer of buffers) buffer.destroy();
  }
}

async function runCases(ctx: GpuContext, cases: MatmulCase[]): Promise<CheckOutcome[]> {
  const results: CheckOutcome[] = [];
  for (const c of cases) results.push(await runMatmulCase(ctx, c));
  return results;
}

// The default variant for the adapter, on shapes that are not tile multiples; each check compiles only a
// few pipelines so it stays fast on a software adapter.
export const matmulChecks: KernelCheck[] = [
  {
    name: 'matmul.forward',
    tolerance: matmulTolerance(64),
    // A linear layer: x (T, C) @ W^T with W stored (OC, C), plus bias; then an aligned shape whose bias sits at
    // an offset in a larger buffer (a layer's biases share one), and one adding a residual (y = x + h W^T).
    run: (ctx) =>
      runCases(ctx, [
        { dims: { m: 13, k: 19, n: 21, transB: true }, bias: true, seed: 1 },
        { dims: { m: 24, k: 64, n: 40, transB: true }, bias: true, biasOffset: 24, seed: 2 },
        { dims: { m: 24, k: 64, n: 40, transB: true }, residual: true, seed: 3 },
      ]),
  },
  {
    name: 'matmul.backward',
    tolerance: matmulTolerance(64),
    // dX = dY @ W (B stored (k, n)) and dW += dY^T @ X (A stored (k, m)), accumulating.
    run: (ctx) =>
      runCases(ctx, [
        { dims: { m: 13, k: 21, n: 19 }, seed: 3 },
        { dims: { m: 21, k: 13, n: 19, transA: true }, accumulate: true, seed: 4 },
      ]),
  },
  {
    name: 'matmul.f16-weights',
    tolerance: matmulTolerance(64),
    // f16 B packed two per u32, as a Linear weight, aligned and at an odd offset (one half into a word).
    run: (ctx) =>
      runCases(ctx, [
        { dims: { m: 17, k: 64, n: 24, transB: true }, bFormat: 'f16', seed: 5 },
        { dims: { m: 9, k: 15, n: 11, transB: true, offsetB: 3 }, bFormat: 'f16', seed: 6 },
      ]),
  },
  {
    name: 'matmul.decode',
    tolerance: matmulTolerance(64),
    // A decode step's products (the gemv kernels): one and five rows against a Linear weight, f16 with the
    // residual add fused (accumulate) and a tail past the last 8 of k, f32 with a bias.
    run: (ctx) =>
      runCases(ctx, [
        { dims: { m: 1, k: 61, n: 37, transB: true }, bFormat: 'f16', accumulate: true, seed: 8 },
        { dims: { m: 5, k: 64, n: 40, transB: true }, bias: true, seed: 9 },
      ]),
  },
  {
    name: 'matmul.batched',
    tolerance: matmulTolerance(64),
    // Batch 3, one B broadcast over it (strideB = 0), alpha, offsets into every buffer.
    run: (ctx) =>
      runCases(ctx, [
        { dims: { m: 10, k: 12, n: 7, batch: 3, strideB: 0, offsetA: 5, offsetC: 2 }, alpha: 0.5, seed: 7 },
      ]),
  },
];
