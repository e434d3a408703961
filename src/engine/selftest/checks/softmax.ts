import type { GpuContext } from '../../gpu/context';
import { softmaxBackward as softmaxBackwardCpu, softmaxForward as softmaxForwardCpu } from '../../ops/cpu/softmax';
import { softmaxBackward, softmaxForward } from '../../ops/gpu/softmax';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

// Each output is one exp divided by a sum of up to V terms accumulated in f32 (measured max |err| 7e-8 on
// outputs near 1, relative 1e-6 on tiny ones); the absolute floor covers outputs that flush to zero.
const forwardTolerance = { atol: 1e-7, rtol: 1e-5 };
// dx = s * y * (dy - dot): the dot is a length-V f32 sum whose rounding is scaled by y (measured 6e-8).
const backwardTolerance = { atol: 2e-7, rtol: 1e-5 };

export interface SoftmaxCase {
  rows: number;
  cols: number;
  scale: number;
  /** Logits are drawn from U(-spread, spread) around `center`. */
  spread: number;
  center: number;
  workgroupSize?: number;
}

export const softmaxCheckCases: SoftmaxCase[] = [
  { rows: 3, cols: 1, scale: 1, spread: 1, center: 0 },
  { rows: 5, cols: 1000, scale: 1, spread: 8, center: 0 },
  // Logits around 1e4 (a naive exp overflows), a column count that is a multiple of nothing, a temperature.
  { rows: 7, cols: 37, scale: 0.5, spread: 20, center: 1e4 },
];

function logits(rng: Rng, c: SoftmaxCase): Float32Array {
  return rng.f32(c.rows * c.cols, c.center - c.spread, c.center + c.spread);
}

function label(c: SoftmaxCase): string {
  return `N=${c.rows} V=${c.cols} scale=${c.scale} logits~${c.center}±${c.spread}${c.workgroupSize ? ` WG=${c.workgroupSize}` : ''}`;
}

/** Output buffer pre-filled with NaN, so a kernel that skips an element cannot pass. */
function poisoned(ctx: GpuContext, n: number): GPUBuffer {
  return ctx.upload(new Float32Array(n).fill(NaN));
}

export async function runSoftmaxForwardCase(ctx: GpuContext, c: SoftmaxCase, seed: number): Promise<CheckOutcome> {
  const n = c.rows * c.cols;
  const x = logits(new Rng(seed), c);
  const xb = ctx.upload(x);
  const yb = poisoned(ctx, n);
  const step = ctx.step();
  softmaxForward(step, yb, xb, c, { workgroupSize: c.workgroupSize });
  await step.submit();
  const got = await ctx.readF32(yb, n);
  const want = new Float64Array(n);
  softmaxForwardCpu(want, Float64Array.from(x), c.rows, c.cols, c.scale);
  xb.destroy();
  yb.destroy();
  return outcome(`forward ${label(c)}`, got, want, forwardTolerance);
}

export async function runSoftmaxBackwardCase(ctx: GpuContext, c: SoftmaxCase, seed: number): Promise<CheckOutcome> {
  const n = c.rows * c.cols;
  const rng = new Rng(seed);
  // y is a real softmax output (rounded to f32, as the GPU would store it); dy is arbitrary.
  const y64 = new Float64Array(n);
  softmaxForwardCpu(y64, Float64Array.from(logits(rng, c)), c.rows, c.cols, c.scale);
  const y = Float32Array.from(y64);
  const dy = rng.f32(n);
  const yb = ctx.upload(y);
  const dyb = ctx.upload(dy);
  const dxb = poisoned(ctx, n);
  const step = ctx.step();
  softmaxBackward(step, dxb, yb, dyb, c, { workgroupSize: c.workgroupSize });
  await step.submit();
  const got = await ctx.readF32(dxb, n);
  const want = new Float64Array(n);
  softmaxBackwardCpu(want, Float64Array.from(y), Float64Array.from(dy), c.rows, c.cols, c.scale);
  for (const b of [yb, dyb, dxb]) b.destroy();
  return outcome(`backward ${label(c)}`, got, want, backwardTolerance);
}

export const softmaxChecks: KernelCheck[] = [
  {
    name: 'softmax.forward',
    tolerance: forwardTolerance,
    async run(ctx) {
      const results = [];
      for (const [i, c] of softmaxCheckCases.entries()) results.push(await runSoftmaxForwardCase(ctx, c, 100 + i));
      return results;
    },
  },
  {
    name: 'softmax.backward',
    tolerance: backwardTolerance,
    async run(ctx) {
      const results = [];
      for (const [i, c] of softmaxCheckCases.entries()) results.push(await runSoftmaxBackwardCase(ctx, c, 200 + i));
      return results;
    },
  },
];

export { forwardTolerance as softmaxForwardTolerance, backwardTolerance as softmaxBackwardTolerance };
