import type { GpuContext } from '../../gpu/context';
import {
  attentionBackward as attentionBackwardCpu,
  attentionForward as attentionForwardCpu,
  resolveAttentionDims,
  type AttentionDims,
} from '../../ops/cpu/attention';
import {
  attentionBackward,
  attentionForward,
  preferredAttentionTuning,
  type AttentionBackwardLayouts,
  type AttentionTuning,
  type TensorLayout,
} from '../../ops/gpu/attention';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

// Tolerances (GPU f32 vs float64 reference on the same f32 inputs). The forward's out is a convex combination
// of values in [-1, 1] built from f32 exps; lse is a log of an f32 sum. The backward sums up to Tk (dq) or
// Tq * G (dk, dv) products each, so its absolute error grows with sequence length.
const forwardTolerance = { atol: 2e-6, rtol: 1e-5 };
const backwardTolerance = { atol: 1e-5, rtol: 1e-4 };

export interface AttentionCase {
  dims: AttentionDims;
  /** q and k are drawn from U(-amplitude, amplitude) (default 2: peaked, far from uniform, softmax rows). */
  amplitude?: number;
  /** k and v (and dk, dv) live in a cache (B, kvCapacity, Hkv, D) of which the first Tk positions are valid. */
  kvCapacity?: number;
  /** q, k, v (and dq, dk, dv) interleave in one (B, T, (Hq + 2 Hkv) D) buffer, as GPT-2's c_attn writes them. */
  fusedQkv?: boolean;
  /** Merged over the adapter's preferred tuning. */
  tuning?: AttentionTuning;
}

type Layout = Required<TensorLayout>;

interface Arrangement {
  q: Layout;
  k: Layout;
  v: Layout;
  /** Elements of the buffer holding q (and k, v when fused). */
  qElements: number;
  /** Elements of each of the k and v buffers (unused when fused). */
  kvElements: number;
}

function arrange(c: AttentionCase): Arrangement {
  const { batch, tq, tk, hq, hkv, headDim: D } = c.dims;
  if (c.fusedQkv) {
    if (tq !== tk) throw new Error('a fused qkv case needs Tq = Tk');
    const w = (hq + 2 * hkv) * D;
    const at = (offset: number): Layout => ({ offset, rowStride: w, batchStride: tq * w });
    return { q: at(0), k: at(hq * D), v: at((hq + hkv) * D), qElements: batch * tq * w, kvElements: 0 };
  }
  const capacity = c.kvCapacity ?? tk;
  const kv: Layout = { offset: 0, rowStride: hkv * D, batchStride: capacity * hkv * D };
  return {
    q: { offset: 0, rowStride: hq * D, batchStride: tq * hq * D },
    k: kv,
    v: kv,
    qElements: batch * tq * hq * D,
    kvElements: batch * capacity * hkv * D,
  };
}

/** Writes contiguous (B, T, H, D) `src` into `dst` at `l`. */
function scatter(dst: Float32Array, src: ArrayLike<number>, B: number, T: number, H: number, D: number, l: Layout): void {
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let e = 0; e < H * D; e++) dst[l.offset + b * l.batchStride + t * l.rowStride + e] = src[(b * T + t) * H * D + e];
}

/** Reads (B, T, H, D) at `l` out of `src` into a contiguous array. */
function gather(src: Float32Array, B: number, T: number, H: number, D: number, l: Layout): Float32Array {
  const out = new Float32Array(B * T * H * D);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let e = 0; e < H * D; e++) out[(b * T + t) * H * D + e] = src[l.offset + b * l.batchStride + t * l.rowStride + e];
  return out;
}

function tuningFor(ctx: GpuContext, c: AttentionCase): AttentionTuning {
  return { ...preferredAttentionTuning(ctx.adapter, resolveAttentionDims(c.dims).headDim), ...c.tuning };
}

function label(c: AttentionCase, tuning: AttentionTuning): string {
  const d = resolveAttentionDims(c.dims);
  const extras = [
    d.causal ? '' : ' non-causal',
    c.dims.scale === undefined ? '' : ` scale=${d.scale}`,
    c.kvCapacity ? ` kv-cache(${c.kvCapacity})` : '',
    c.fusedQkv ? ' fused-qkv' : '',
    ` ${JSON.stringify(tuning)}`,
  ].join('');
  return `B=${d.batch} Tq=${d.tq} Tk=${d.tk} Hq=${d.hq} Hkv=${d.hkv} D=${d.headDim}${extras}`;
}

interface Inputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

function randomInputs(c: AttentionCase, seed: number): Inputs {
  const { batch, tq, tk, hq, hkv, headDim: D } = c.dims;
  const a = c.amplitude ?? 2;
  const rng = new Rng(seed);
  return {
    q: rng.f32(batch * tq * hq * D, -a, a),
    k: rng.f32(batch * tk * hkv * D, -a, a),
    v: rng.f32(batch * tk * hkv * D),
  };
}

/** Uploads q, k, v placed as the case says; unused slots (cache tail, padding) hold NaN to catch stray reads. */
function uploadInputs(ctx: GpuContext, c: AttentionCase, x: Inputs): { q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; all: GPUBuffer[] } {
  const { batch, tq, tk, hq, hkv, headDim: D } = c.dims;
  const a = arrange(c);
  if (c.fusedQkv) {
    const host = new Float32Array(a.qElements).fill(NaN);
    scatter(host, x.q, batch, tq, hq, D, a.q);
    scatter(host, x.k, batch, tk, hkv, D, a.k);
    scatter(host, x.v, batch, tk, hkv, D, a.v);
    const buf = ctx.upload(host);
    return { q: buf, k: buf, v: buf, all: [buf] };
  }
  const kHost = new Float32Array(a.kvElements).fill(NaN);
  const vHost = new Float32Array(a.kvElements).fill(NaN);
  scatter(kHost, x.k, batch, tk, hkv, D, a.k);
  scatter(vHost, x.v, batch, tk, hkv, D, a.v);
  const q = ctx.upload(x.q);
  const k = ctx.upload(kHost);
  const v = ctx.upload(vHost);
  return { q, k, v, all: [q, k, v] };
}

function nanBuffer(ctx: GpuContext, n: number): GPUBuffer {
  return ctx.upload(new Float32Array(n).fill(NaN));
}

function f64(x: Float32Array): Float64Array {
  return Float64Array.from(x);
}

export async function runAttentionForwardCase(ctx: GpuContext, c: AttentionCase, seed: number): Promise<CheckOutcome[]> {
  const d = resolveAttentionDims(c.dims);
  const x = randomInputs(c, seed);
  const a = arrange(c);
  const inputs = uploadInputs(ctx, c, x);
  const outElements = d.batch * d.tq * d.hq * d.headDim;
  const lseElements = d.batch * d.hq * d.tq;
  const outBuf = nanBuffer(ctx, outElements);
  const lseBuf = nanBuffer(ctx, lseElements);
  const step = ctx.step();
  const tuning = tuningFor(ctx, c);
  attentionForward(step, outBuf, lseBuf, inputs.q, inputs.k, inputs.v, c.dims, { q: a.q, k: a.k, v: a.v }, tuning);
  await step.submit();
  const out = await ctx.readF32(outBuf, outElements);
  const lse = await ctx.readF32(lseBuf, lseElements);
  for (const b of [...inputs.all, outBuf, lseBuf]) b.destroy();

  const wantOut = new Float64Array(outElements);
  const wantLse = new Float64Array(lseElements);
  attentionForwardCpu(wantOut, wantLse, f64(x.q), f64(x.k), f64(x.v), c.dims);
  const name = label(c, tuning);
  return [outcome(`out ${name}`, out, wantOut, forwardTolerance), outcome(`lse ${name}`, lse, wantLse, forwardTolerance)];
}

export async function runAttentionBackwardCase(ctx: GpuContext, c: AttentionCase, seed: number): Promise<CheckOutcome[]> {
  const d = resolveAttentionDims(c.dims);
  const { batch: B, tq, tk, hq, hkv, headDim: D } = d;
  const x = randomInputs(c, seed);
  const dout = new Rng(seed + 7919).f32(B * tq * hq * D);
  const a = arrange(c);
  const inputs = uploadInputs(ctx, c, x);

  // The saved forward state comes from the reference (rounded to f32), so this checks the backward alone.
  const qElements = B * tq * hq * D;
  const kvElements = B * tk * hkv * D;
  const out64 = new Float64Array(qElements);
  const lse64 = new Float64Array(B * hq * tq);
  attentionForwardCpu(out64, lse64, f64(x.q), f64(x.k), f64(x.v), c.dims);
  const outBuf = ctx.upload(Float32Array.from(out64));
  const lseBuf = ctx.upload(Float32Array.from(lse64));
  const doutBuf = ctx.upload(dout);

  const layouts: AttentionBackwardLayouts = { q: a.q, k: a.k, v: a.v, dq: a.q, dk: a.k, dv: a.v };
  // Gradients land where their inputs live: one fused buffer, or q-shaped dq and cache-shaped dk, dv.
  const gradBufs = c.fusedQkv
    ? [nanBuffer(ctx, a.qElements)]
    : [nanBuffer(ctx, a.qElements), nanBuffer(ctx, a.kvElements), nanBuffer(ctx, a.kvElements)];
  const [dqBuf, dkBuf, dvBuf] = c.fusedQkv ? [gradBufs[0], gradBufs[0], gradBufs[0]] : gradBufs;
  const tuning = tuningFor(ctx, c);
  const step = ctx.step();
  attentionBackward(
    step,
    { dq: dqBuf, dk: dkBuf, dv: dvBuf },
    doutBuf,
    { q: inputs.q, k: inputs.k, v: inputs.v, out: outBuf, lse: lseBuf },
    c.dims,
    layouts,
    tuning,
  );
  await step.submit();
  const read = async (buf: GPUBuffer, n: number) => ctx.readF32(buf, n);
  const dqHost = await read(dqBuf, a.qElements);
  const dkHost = c.fusedQkv ? dqHost : await read(dkBuf, a.kvElements);
  const dvHost = c.fusedQkv ? dqHost : await read(dvBuf, a.kvElements);
  for (const b of [...inputs.all, outBuf, lseBuf, doutBuf, ...gradBufs]) b.destroy();

  const dq = new Float64Array(qElements);
  const dk = new Float64Array(kvElements);
  const dv = new Float64Array(kvElements);
  attentionBackwardCpu(dq, dk, dv, f64(dout), f64(x.q), f64(x.k), f64(x.v), c.dims);
  const name = label(c, tuning);
  return [
    outcome(`dq ${name}`, gather(dqHost, B, tq, hq, D, a.q), dq, backwardTolerance),
    outcome(`dk ${name}`, gather(dkHost, B, tk, hkv, D, a.k), dk, backwardTolerance),
    outcome(`dv ${name}`, gather(dvHost, B, tk, hkv, D, a.v), dv, backwardTolerance),
  ];
}

/** Small enough for the in-browser self-test on a software adapter, shaped to cover the geometry. */
export const attentionCheckCases: AttentionCase[] = [
  // Training shape with GQA (3 query heads per kv head), T not a tile multiple, B = 2.
  { dims: { batch: 2, tq: 33, tk: 33, hq: 6, hkv: 2, headDim: 16 } },
  // One decode step against a KV cache with spare capacity; odd head dim, MHA.
  { dims: { batch: 1, tq: 1, tk: 20, hq: 3, hkv: 3, headDim: 5 }, kvCapacity: 24 },
];

export const attentionChecks: KernelCheck[] = [
  {
    name: 'attention.forward',
    tolerance: forwardTolerance,
    async run(ctx) {
      const results = [];
      for (const [i, c] of attentionCheckCases.entries()) results.push(...(await runAttentionForwardCase(ctx, c, 500 + i)));
      return results;
    },
  },
  {
    name: 'attention.backward',
    tolerance: backwardTolerance,
    async run(ctx) {
      const results = [];
      for (const [i, c] of attentionCheckCases.entries()) results.push(...(await runAttentionBackwardCase(ctx, c, 600 + i)));
      return results;
    },
  },
];

export { forwardTolerance as attentionForwardTolerance, backwardTolerance as attentionBackwardTolerance };
