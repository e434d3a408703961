// AdamW and the global gradient norm / clip coefficient vs the CPU references.
//
// AdamW tolerances, per tensor (measured figures: tests/gpu/optimizer.test.ts and the report):
// - param: each step rounds p twice (relative, u = 2^-24 each) and adds an update of size ~lr whose own
//   relative error is a few u; a weight that passes near zero keeps the absolute error of its earlier
//   values. So atol = 8 u * sum of the lrs so far, and rtol = 1e-6 (vs the float32 mirror of torch's op
//   order, where only WGSL's sqrt/division ULP allowances and fma (non-)fusion differ) or 2e-6 (vs
//   float64, about 5 u per step over the 6 steps of the checks).
// - m = m + w (g - m) cancels towards 0: its error is absolute, see momentTolerance.
// - v is a sum of non-negative terms: relative only.
// Grad norm: a sum of non-negative squares, relative error <= depth * u (sumDepth), halved by sqrt.

import type { GpuContext } from '../../gpu/context';
import { adamwUpdate, clipCoefficient, globalGradNorm, type AdamWHyper, type Precision } from '../../ops/cpu/adamw';
import type { Vec } from '../../ops/cpu/types';
import { adamw } from '../../ops/gpu/adamw';
import { clipSource, gradNorm } from '../../ops/gpu/grad-norm';
import { SUM_CHUNK, sumChunkCount, sumDepth } from '../../ops/gpu/reduce';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { Tolerance } from '../compare';
import type { CheckOutcome, KernelCheck } from '../types';

const U = 2 ** -24;

export const ADAMW_RTOL_VS_F32 = 1e-6;
export const ADAMW_RTOL_VS_F64 = 2e-6;

/** Tolerance for param after steps with these learning rates (see the header). */
export function paramTolerance(lrs: readonly number[], rtol: number): Tolerance {
  return { atol: 8 * U * lrs.reduce((a, b) => a + b, 0), rtol };
}

/**
 * m = m + w (g - m) cancels towards 0, so its error is absolute: each step rounds w (g - m) (half an ULP
 * when the driver does not fuse the fma, which WGSL allows) and b1 damps older errors, so the error
 * stays below about 2^-24 * max|g - m| <= 2^-24 * 2 max|g|.
 */
export function momentTolerance(grads: readonly Float32Array[]): Tolerance {
  let maxAbs = 0;
  for (const g of grads) for (const x of g) maxAbs = Math.max(maxAbs, Math.abs(x));
  return { atol: 2 * U * maxAbs, rtol: ADAMW_RTOL_VS_F32 };
}

const HYPER: Omit<AdamWHyper, 'lr'> = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
/** A warmup-then-decay schedule: lr changes every step. */
const LRS = [1e-3, 2e-3, 3e-3, 2.5e-3, 1e-3, 5e-4];
/** Gradient scale per step, and the clip coefficient the kernel reads (1 = not clipped). */
const GRAD_SCALES = [1, 0.3, 2, 0.05, 1, 0.7];
const CLIP_COEFS = [1, 0.5, 1, 0.25, 1, 0.9];

/** Worst-case relative error of gradNorm's sum of squares over these segment sizes. */
export function gradNormSumDepth(sizes: readonly number[]): number {
  const slots = sizes.reduce((s, n) => s + sumChunkCount(n), 0);
  const firstPass = Math.max(...sizes.map((n) => sumDepth(Math.min(n, SUM_CHUNK))));
  return 1 + firstPass + Math.ceil(slots / 256) + 8;
}

interface AdamWRun {
  param: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** Six AdamW steps on the GPU (one submit each), the clip coefficient read from a buffer when `clip`. */
async function gpuAdamW(
  ctx: GpuContext,
  p0: Float32Array,
  grads: Float32Array[],
  n: number,
  offset: number,
  clip: boolean,
): Promise<AdamWRun> {
  const len = offset + n;
  const pb = ctx.upload(p0);
  const mb = ctx.upload(new Float32Array(len));
  const vb = ctx.upload(new Float32Array(len));
  const cb = ctx.upload(new Float32Array(4));
  const gbs = grads.map((g) => ctx.upload(g));
  for (let t = 1; t <= LRS.length; t++) {
    ctx.write(cb, Float32Array.of(0, 0, CLIP_COEFS[t - 1], 0));
    const step = ctx.step();
    adamw(step, pb, gbs[t - 1], mb, vb, n, { ...HYPER, lr: LRS[t - 1] }, t, {
      offset,
      clip: clip ? { buffer: cb, index: 2 } : undefined,
    });
    await step.submit();
  }
  const run = { param: await ctx.readF32(pb, len), m: await ctx.readF32(mb, len), v: await ctx.readF32(vb, len) };
  for (const b of [pb, mb, vb, cb, ...gbs]) b.destroy();
  return run;
}

function cpuAdamW(
  p0: Float32Array,
  grads: Float32Array[],
  n: number,
  offset: number,
  clip: boolean,
  precision: Precision,
): Record<keyof AdamWRun, Vec> {
  const make = (src: ArrayLike<number>): Vec => (precision === 'float32' ? Float32Array.from(src) : Float64Array.from(src));
  const param = make(p0.subarray(offset));
  const m = make(new Float32Array(n));
  const v = make(new Float32Array(n));
  for (let t = 1; t <= LRS.length; t++) {
    const g = make(grads[t - 1].subarray(offset));
    const clipCoef = clip ? CLIP_COEFS[t - 1] : 1;
    adamwUpdate(param, g, m, v, { ...HYPER, lr: LRS[t - 1] }, t, { clipCoef, precision });
  }
  return { param, m, v };
}

async function adamwCase(ctx: GpuContext, seed: number, n: number, offset: number, clip: boolean): Promise<CheckOutcome[]> {
  const rng = new Rng(seed);
  const p0 = rng.normals(offset + n, 0.5);
  const grads = GRAD_SCALES.map((s) => rng.normals(offset + n, s));
  const got = await gpuAdamW(ctx, p0, grads, n, offset, clip);
  // The kernel must not touch elements before `offset`.
  const before = [got.param.subarray(0, offset), p0.subarray(0, offset)] as const;
  const untouched = outcome(`n=${n} offset=${offset}: elements before offset`, ...before, { atol: 0, rtol: 0 });
  const results = offset > 0 ? [untouched] : [];
  for (const precision of ['float32', 'float64'] as const) {
    const want = cpuAdamW(p0, grads, n, offset, clip, precision);
    const label = `n=${n} offset=${offset} clip=${clip} vs ${precision}`;
    const rtol = precision === 'float32' ? ADAMW_RTOL_VS_F32 : ADAMW_RTOL_VS_F64;
    results.push(outcome(`${label}: param`, got.param.subarray(offset), want.param, paramTolerance(LRS, rtol)));
    results.push(outcome(`${label}: m`, got.m.subarray(offset), want.m, momentTolerance(grads)));
    results.push(outcome(`${label}: v`, got.v.subarray(offset), want.v, { atol: 0, rtol }));
  }
  return results;
}

export const optimizerChecks: KernelCheck[] = [
  {
    name: 'adamw.step',
    tolerance: paramTolerance(LRS, ADAMW_RTOL_VS_F64),
    async run(ctx) {
      return [...(await adamwCase(ctx, 31, 1000, 0, false)), ...(await adamwCase(ctx, 32, 777, 5, true))];
    },
  },
  {
    name: 'grad_norm',
    tolerance: { atol: 0, rtol: 30 * U },
    async run(ctx) {
      const rng = new Rng(33);
      const sizes = [1, 2, 3, 7, 31, 255, 256, 257, 1000, 4095, 4097, 9000];
      const grads = sizes.map((n, i) => rng.normals(n, 0.01 * (i + 1)));
      const gbs = grads.map((g) => ctx.upload(g));
      const norm = globalGradNorm(grads);
      const rtol = (gradNormSumDepth(sizes) / 2 + 2) * U; // sqrt halves the relative error, + its rounding
      const results: CheckOutcome[] = [];
      // Disabled (0 and null), far above the norm (coefficient 1), and below it (clipping).
      for (const maxNorm of [0, null, 1e6, norm * 4, norm / 4]) {
        const rb = ctx.createBuffer(4 * 4);
        const step = ctx.step();
        gradNorm(step, rb, grads.map((g, i) => ({ buffer: gbs[i], n: g.length })), { maxNorm, resultOffset: 1 });
        await step.submit();
        const got = await ctx.readF32(rb, 2, 1);
        rb.destroy();
        const want = [norm, clipCoefficient(norm, maxNorm)];
        results.push(outcome(`norm, coef (maxNorm=${maxNorm})`, got, want, { atol: 0, rtol: rtol + 4 * U }));
      }
      for (const b of gbs) b.destroy();
      return results;
    },
  },
  {
    name: 'adamw.clipped_by_grad_norm',
    tolerance: paramTolerance([2e-3], ADAMW_RTOL_VS_F64),
    async run(ctx) {
      // The training-step shape: norm, coefficient and AdamW of every buffer in one submit, no readback.
      const rng = new Rng(34);
      const sizes = [5, 300, 4097, 64];
      const hyper = { ...HYPER, lr: 2e-3 };
      const params = sizes.map((n) => rng.normals(n, 0.5));
      const grads = sizes.map((n) => rng.normals(n, 0.2));
      const norm = globalGradNorm(grads);
      const maxNorm = norm / 3;
      const pbs = params.map((p) => ctx.upload(p));
      const gbs = grads.map((g) => ctx.upload(g));
      const mbs = sizes.map((n) => ctx.upload(new Float32Array(n)));
      const vbs = sizes.map((n) => ctx.upload(new Float32Array(n)));
      const rb = ctx.createBuffer(8);
      const step = ctx.step();
      gradNorm(step, rb, sizes.map((n, i) => ({ buffer: gbs[i], n })), { maxNorm });
      sizes.forEach((n, i) => adamw(step, pbs[i], gbs[i], mbs[i], vbs[i], n, hyper, 1, { clip: clipSource(rb) }));
      const normRead = step.read(rb, 0, 8);
      await step.submit();
      const [gotNorm, gotCoef] = new Float32Array(await normRead.data());
      const coef = clipCoefficient(norm, maxNorm);
      const rtol = (gradNormSumDepth(sizes) / 2 + 6) * U;
      const results = [outcome('norm, coef', [gotNorm, gotCoef], [norm, coef], { atol: 0, rtol })];
      for (let i = 0; i < sizes.length; i++) {
        const gotP = await ctx.readF32(pbs[i], sizes[i]);
        const gotM = await ctx.readF32(mbs[i], sizes[i]);
        const p = Float64Array.from(params[i]);
        const m = new Float64Array(sizes[i]);
        const v = new Float64Array(sizes[i]);
        adamwUpdate(p, Float64Array.from(grads[i]), m, v, hyper, 1, { clipCoef: coef });
        results.push(outcome(`buffer ${i} (n=${sizes[i]}): param`, gotP, p, paramTolerance([hyper.lr], ADAMW_RTOL_VS_F64)));
        // m = 0.1 * coef * g carries the coefficient's relative error.
        results.push(outcome(`buffer ${i} (n=${sizes[i]}): m`, gotM, m, { atol: 0, rtol: rtol + 4 * U }));
      }
      for (const b of [...pbs, ...gbs, ...mbs, ...vbs, rb]) b.destroy();
      return results;
    },
  },
];
