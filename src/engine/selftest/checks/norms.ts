// Self-checks of the RMSNorm and LayerNorm kernels against the float64 CPU references. Each case runs on
// seeded data; backward cases feed the kernels the f32-rounded saved statistics the reference also uses.
// Shapes cover a row narrower than a workgroup, C not a multiple of 4, several workgroups of rows, both
// row variants, f16-packed weights and accumulation into existing gradients.

import type { GpuContext } from '../../gpu/context';
import { packF16, roundToF16 } from '../../gpu/f16';
import type { StepEncoder } from '../../gpu/step-encoder';
import { layerNormBackward, layerNormForward, rmsNormBackward, rmsNormForward } from '../../ops/cpu/norms';
import {
  layerNormBackward as gpuLayerNormBackward,
  layerNormForward as gpuLayerNormForward,
  layerNormParamGrad,
  rmsNormBackward as gpuRmsNormBackward,
  rmsNormForward as gpuRmsNormForward,
  rmsNormWeightGrad,
  type NormVariant,
} from '../../ops/gpu/norms';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

// f32 kernels against float64 references, rows of up to ~2k elements. Forward: a (blocked, tree-combined)
// sum then products, a few ulps of the outputs; LayerNorm's y also inherits the rounding of the mean
// (x here is offset to [1, 4), so |mean| ~ 2.5 and one of its ulps is 2.4e-7). Input gradients subtract
// nearly equal terms, so their error scales with |dy * w| (~1), not with the (often tiny) result.
// Parameter gradients sum up to 300 rows of terms up to ~4, with partial sums around 20 (ulp 2e-6).
const rmsForwardTol = { atol: 1e-6, rtol: 1e-5 };
const layerForwardTol = { atol: 3e-6, rtol: 2e-5 };
const backwardTol = { atol: 1e-6, rtol: 1e-4 };
const paramGradTol = { atol: 2e-5, rtol: 1e-4 };

interface RowCase {
  rows: number;
  channels: number;
  variant: NormVariant;
  f16?: boolean;
  accumulate?: boolean;
  /** Large enough in some cases that a kernel ignoring it fails. */
  eps: number;
}

const ROW_CASES: RowCase[] = [
  { rows: 5, channels: 96, variant: 'workgroup', eps: 1e-6 },
  { rows: 37, channels: 131, variant: 'workgroup', f16: true, accumulate: true, eps: 0.5 },
  { rows: 3, channels: 2048, variant: 'workgroup', eps: 1e-5 },
  { rows: 70, channels: 576, variant: 'row', eps: 1e-6 },
  { rows: 9, channels: 35, variant: 'row', f16: true, accumulate: true, eps: 0.25 },
];

const PARAM_CASES = [
  { rows: 7, channels: 131, accumulate: false }, // one row block: written directly
  { rows: 300, channels: 70, accumulate: true }, // several row blocks, then the ordered second pass
];

const label = (c: { rows: number; channels: number }, extra: string) => `N=${c.rows} C=${c.channels} ${extra}`.trim();
const caseLabel = (c: RowCase) => label(c, `eps=${c.eps} ${c.variant}${c.f16 ? ' f16' : ''}${c.accumulate ? ' +=' : ''}`);
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

/** A weight as the GPU stores it and as the reference must see it. */
interface WeightPair {
  gpu: Float32Array | Uint32Array;
  ref: Float64Array;
}

function weightPair(rng: Rng, n: number, lo: number, hi: number, f16: boolean): WeightPair {
  const w = rng.f32(n, lo, hi);
  return f16 ? { gpu: packF16(w), ref: f64(roundToF16(w)) } : { gpu: w, ref: f64(w) };
}

/** Uploads inputs, records the kernels, and reads back the named outputs (f32) after one submit. */
async function runGpu(
  ctx: GpuContext,
  inputs: (Float32Array | Uint32Array | Int32Array)[],
  outputSizes: number[],
  record: (step: StepEncoder, buffers: GPUBuffer[]) => void,
  readIndices: number[],
): Promise<Float32Array[]> {
  const buffers = [...inputs.map((a) => ctx.upload(a)), ...outputSizes.map((n) => ctx.createBuffer(n * 4))];
  try {
    const step = ctx.step();
    record(step, buffers);
    const reads = readIndices.map((i) => step.read(buffers[i]));
    await step.submit();
    const sizes = readIndices.map((i) => (i < inputs.length ? inputs[i].length : outputSizes[i - inputs.length]));
    return await Promise.all(reads.map(async (r, k) => new Float32Array(await r.data(), 0, sizes[k])));
  } finally {
    for (const b of buffers) b.destroy();
  }
}

async function rmsForwardCases(ctx: GpuContext): Promise<CheckOutcome[]> {
  const rng = new Rng(101);
  const results: CheckOutcome[] = [];
  for (const c of ROW_CASES) {
    const { rows: N, channels: C } = c;
    const eps = c.eps;
    const x = rng.f32(N * C, -2, 2);
    const w = weightPair(rng, C, 0.5, 1.5, Boolean(c.f16));
    const [y, rstd] = await runGpu(ctx, [x, w.gpu], [N * C, N], (step, [xb, wb, yb, rb]) => {
      gpuRmsNormForward(step, yb, rb, xb, wb, { rows: N, channels: C }, {
        eps,
        variant: c.variant,
        weightFormat: c.f16 ? 'f16' : 'f32',
      });
    }, [2, 3]);
    const wantY = new Float64Array(N * C);
    const wantR = new Float64Array(N);
    rmsNormForward(wantY, wantR, f64(x), w.ref, N, C, eps);
    results.push(outcome(`${caseLabel(c)} y`, y, wantY, rmsForwardTol), outcome(`${caseLabel(c)} rstd`, rstd, wantR, rmsForwardTol));
  }
  return results;
}

async function rmsBackwardCases(ctx: GpuContext): Promise<CheckOutcome[]> {
  const rng = new Rng(102);
  const results: CheckOutcome[] = [];
  for (const c of ROW_CASES) {
    const { rows: N, channels: C } = c;
    const x = rng.f32(N * C, -2, 2);
    const w = weightPair(rng, C, 0.5, 1.5, Boolean(c.f16));
    const dy = rng.f32(N * C);
    const rstd = new Float32Array(N);
    rmsNormForward(new Float64Array(N * C), rstd, f64(x), w.ref, N, C, c.eps);
    const dx0 = c.accumulate ? rng.f32(N * C) : new Float32Array(N * C);
    const [dx] = await runGpu(ctx, [dy, x, w.gpu, rstd, dx0], [], (step, [dyb, xb, wb, rb, dxb]) => {
      gpuRmsNormBackward(step, dxb, dyb, xb, wb, rb, { rows: N, channels: C }, {
        variant: c.variant,
        weightFormat: c.f16 ? 'f16' : 'f32',
        accumulate: c.accumulate,
      });
    }, [4]);
    const want = f64(dx0);
    rmsNormBackward(want, null, f64(dy), f64(x), w.ref, f64(rstd), N, C);
    results.push(outcome(`${caseLabel(c)} dx`, dx, want, backwardTol));
  }
  return results;
}

async function rmsWeightGradCases(ctx: GpuContext): Promise<CheckOutcome[]> {
  const rng = new Rng(103);
  const results: CheckOutcome[] = [];
  for (const c of PARAM_CASES) {
    const { rows: N, channels: C } = c;
    const x = rng.f32(N * C, -2, 2);
    const dy = rng.f32(N * C);
    const rstd = rng.f32(N, 0.5, 2);
    const dw0 = c.accumulate ? rng.f32(C) : new Float32Array(C);
    const [dw] = await runGpu(ctx, [dy, x, rstd, dw0], [], (step, [dyb, xb, rb, dwb]) => {
      rmsNormWeightGrad(step, dwb, dyb, xb, rb, { rows: N, channels: C }, { accumulate: c.accumulate });
    }, [3]);
    const want = f64(dw0);
    const ones = new Float64Array(C).fill(1);
    rmsNormBackward(new Float64Array(N * C), want, f64(dy), f64(x), ones, f64(rstd), N, C);
    results.push(outcome(label(c, `dw${c.accumulate ? ' +=' : ''}`), dw, want, paramGradTol));
  }
  return results;
}

async function layerForwardCases(ctx: GpuContext): Promise<CheckOutcome[]> {
  const rng = new Rng(104);
  const results: CheckOutcome[] = [];
  for (const c of ROW_CASES) {
    const { rows: N, channels: C } = c;
    const eps = c.eps;
    // An offset mean checks the two-pass variance.
    const x = rng.f32(N * C, 1, 4);
    const w = weightPair(rng, C, 0.5, 1.5, Boolean(c.f16));
    const b = weightPair(rng, C, -0.5, 0.5, Boolean(c.f16));
    const [y, mean, rstd] = await runGpu(ctx, [x, w.gpu, b.gpu], [N * C, N, N], (step, [xb, wb, bb, yb, mb, rb]) => {
      gpuLayerNormForward(step, yb, mb, rb, xb, wb, bb, { rows: N, channels: C }, {
        eps,
        variant: c.variant,
        weightFormat: c.f16 ? 'f16' : 'f32',
      });
    }, [3, 4, 5]);
    const wantY = new Float64Array(N * C);
    const wantM = new Float64Array(N);
    const wantR = new Float64Array(N);
    layerNormForward(wantY, wantM, wantR, f64(x), w.ref, b.ref, N, C, eps);
    results.push(
      outcome(`${caseLabel(c)} y`, y, wantY, layerForwardTol),
      outcome(`${caseLabel(c)} mean`, mean, wantM, layerForwardTol),
      outcome(`${caseLabel(c)} rstd`, rstd, wantR, layerForwardTol),
    );
  }
  return results;
}

/** Saved statistics of a LayerNorm forward, rounded to f32 as the GPU stores them. */
function layerStats(x: Float32Array, N: number, C: number): { mean: Float32Array; rstd: Float32Array } {
  const m = new Float64Array(N);
  const r = new Float64Array(N);
  const ones = new Float64Array(C).fill(1);
  layerNormForward(new Float64Array(N * C), m, r, f64(x), ones, new Float64Array(C), N, C, 1e-5);
  return { mean: Float32Array.from(m), rstd: Float32Array.from(r) };
}

async function layerBackwardCases(ctx: GpuContext): Promise<CheckOutcome[]> {
  const rng = new Rng(105);
  const results: CheckOutcome[] = [];
  for (const c of ROW_CASES) {
    const { rows: N, channels: C } = c;
    const x = rng.f32(N * C, -2, 2);
    const w = weightPair(rng, C, 0.5, 1.5, Boolean(c.f16));
    const dy = rng.f32(N * C);
    const { mean, rstd } = layerStats(x, N, C);
    const dx0 = c.accumulate ? rng.f32(N * C) : new Float32Array(N * C);
    const [dx] = await runGpu(ctx, [dy, x, w.gpu, mean, rstd, dx0], [], (step, [dyb, xb, wb, mb, rb, dxb]) => {
      gpuLayerNormBackward(step, dxb, dyb, xb, wb, mb, rb, { rows: N, channels: C }, {
        variant: c.variant,
        weightFormat: c.f16 ? 'f16' : 'f32',
        accumulate: c.accumulate,
      });
    }, [5]);
    const want = f64(dx0);
    layerNormBackward(want, null, null, f64(dy), f64(x), w.ref, f64(mean), f64(rstd), N, C);
    results.push(outcome(`${caseLabel(c)} dx`, dx, want, backwardTol));
  }
  return results;
}

async function layerParamGradCases(ctx: GpuContext): Promise<CheckOutcome[]> {
  const rng = new Rng(106);
  const results: CheckOutcome[] = [];
  for (const c of PARAM_CASES) {
    const { rows: N, channels: C } = c;
    const x = rng.f32(N * C, -2, 2);
    const dy = rng.f32(N * C);
    const { mean, rstd } = layerStats(x, N, C);
    const dw0 = c.accumulate ? rng.f32(C) : new Float32Array(C);
    const db0 = c.accumulate ? rng.f32(C) : new Float32Array(C);
    const [dw, db] = await runGpu(ctx, [dy, x, mean, rstd, dw0, db0], [], (step, [dyb, xb, mb, rb, dwb, dbb]) => {
      layerNormParamGrad(step, dwb, dbb, dyb, xb, mb, rb, { rows: N, channels: C }, { accumulate: c.accumulate });
    }, [4, 5]);
    const wantW = f64(dw0);
    const wantB = f64(db0);
    const ones = new Float64Array(C).fill(1);
    layerNormBackward(new Float64Array(N * C), wantW, wantB, f64(dy), f64(x), ones, f64(mean), f64(rstd), N, C);
    const extra = c.accumulate ? ' +=' : '';
    results.push(outcome(label(c, `dw${extra}`), dw, wantW, paramGradTol), outcome(label(c, `db${extra}`), db, wantB, paramGradTol));
  }
  return results;
}

export const normsChecks: KernelCheck[] = [
  { name: 'rmsnorm.forward', tolerance: rmsForwardTol, run: rmsForwardCases },
  { name: 'rmsnorm.backward', tolerance: backwardTol, run: rmsBackwardCases },
  { name: 'rmsnorm.weight_grad', tolerance: paramGradTol, run: rmsWeightGradCases },
  { name: 'layernorm.forward', tolerance: layerForwardTol, run: layerForwardCases },
  { name: 'layernorm.backward', tolerance: backwardTol, run: layerBackwardCases },
  { name: 'layernorm.param_grad', tolerance: paramGradTol, run: layerParamGradCases },
];
