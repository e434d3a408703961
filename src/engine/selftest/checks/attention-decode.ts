import type { GpuContext } from '../../gpu/context';
import { attentionForward as attentionForwardCpu } from '../../ops/cpu/attention';
import type { TensorLayout } from '../../ops/gpu/attention';
import { attentionDecode, decodeSplits, type DecodeAttentionDims, type DecodeTuning } from '../../ops/gpu/attention-decode';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

// Decode attention (Tq = 1, split over the keys) against the float64 CPU forward with Tq = 1 on the same f32
// inputs. Same tolerance as the forward: out is a convex combination of values in [-1, 1] built from f32
// exps, lse the log of an f32 sum; merging the chunks adds one rescale per chunk.
const decodeTolerance = { atol: 2e-6, rtol: 1e-5 };

export interface DecodeCase {
  dims: DecodeAttentionDims;
  /** q and k are drawn from U(-amplitude, amplitude) (default 2: peaked softmax rows). */
  amplitude?: number;
  /** k and v live in a cache (B, kvCapacity, Hkv, D) of which the first Tk positions are valid. */
  kvCapacity?: number;
  /** q and out sit at an element offset with gaps between requests (NaN in q's gaps; out's gaps must stay NaN). */
  spaced?: boolean;
  tuning?: DecodeTuning;
}

type Layout = Required<TensorLayout>;

/** Where q and out live (the same layout for both) and the elements of their buffers. */
function queryLayout(c: DecodeCase): { layout: Layout; elements: number } {
  const { batch, hq, headDim: D } = c.dims;
  const row = hq * D;
  const layout: Layout = c.spaced ? { offset: 7, rowStride: row, batchStride: row + 11 } : { offset: 0, rowStride: row, batchStride: row };
  return { layout, elements: layout.offset + batch * layout.batchStride };
}

function label(c: DecodeCase): string {
  const { batch, tk, hq, hkv, headDim } = c.dims;
  const extras = [
    c.dims.scale === undefined ? '' : ` scale=${c.dims.scale}`,
    c.kvCapacity ? ` kv-cache(${c.kvCapacity})` : '',
    c.spaced ? ' spaced' : '',
    c.amplitude ? ` amplitude=${c.amplitude}` : '',
    ` splits=${decodeSplits(tk, c.tuning)}`,
    c.tuning ? ` ${JSON.stringify(c.tuning)}` : '',
  ].join('');
  return `decode B=${batch} Tk=${tk} Hq=${hq} Hkv=${hkv} D=${headDim}${extras}`;
}

export interface DecodeInputs {
  /** (B, 1, Hq, D) contiguous. */
  q: Float32Array;
  /** (B, Tk, Hkv, D) contiguous. */
  k: Float32Array;
  v: Float32Array;
}

export function randomDecodeInputs(c: DecodeCase, seed: number): DecodeInputs {
  const { batch, tk, hq, hkv, headDim: D } = c.dims;
  const a = c.amplitude ?? 2;
  const rng = new Rng(seed);
  return { q: rng.f32(batch * hq * D, -a, a), k: rng.f32(batch * tk * hkv * D, -a, a), v: rng.f32(batch * tk * hkv * D) };
}

/** The float64 reference: the CPU training forward with Tq = 1. */
export function decodeReference(c: DecodeCase, x: DecodeInputs): { out: Float64Array; lse: Float64Array } {
  const { batch, hq, headDim: D } = c.dims;
  const out = new Float64Array(batch * hq * D);
  const lse = new Float64Array(batch * hq);
  attentionForwardCpu(out, lse, Float64Array.from(x.q), Float64Array.from(x.k), Float64Array.from(x.v), { ...c.dims, tq: 1 });
  return { out, lse };
}

/** Runs the decode kernel on `x` placed as the case says; returns out gathered to (B, 1, Hq, D), lse and out's gaps. */
export async function runDecodeOnGpu(ctx: GpuContext, c: DecodeCase, x: DecodeInputs): Promise<{ out: Float32Array; lse: Float32Array; gaps: number[] }> {
  const { batch: B, tk, hq, hkv, headDim: D } = c.dims;
  const capacity = c.kvCapacity ?? tk;
  const kvRow = hkv * D;
  const kv: Layout = { offset: 0, rowStride: kvRow, batchStride: capacity * kvRow };
  const kHost = new Float32Array(B * capacity * kvRow).fill(NaN);
  const vHost = new Float32Array(B * capacity * kvRow).fill(NaN);
  for (let b = 0; b < B; b++) {
    kHost.set(x.k.subarray(b * tk * kvRow, (b + 1) * tk * kvRow), b * kv.batchStride);
    vHost.set(x.v.subarray(b * tk * kvRow, (b + 1) * tk * kvRow), b * kv.batchStride);
  }
  const { layout: ql, elements } = queryLayout(c);
  const qHost = new Float32Array(elements).fill(NaN);
  const row = hq * D;
  for (let b = 0; b < B; b++) qHost.set(x.q.subarray(b * row, (b + 1) * row), ql.offset + b * ql.batchStride);

  const bufs = [ctx.upload(qHost), ctx.upload(kHost), ctx.upload(vHost), ctx.upload(new Float32Array(elements).fill(NaN)), ctx.upload(new Float32Array(B * hq).fill(NaN))];
  const [qBuf, kBuf, vBuf, outBuf, lseBuf] = bufs;
  const step = ctx.step();
  attentionDecode(step, { out: outBuf, lse: lseBuf }, qBuf, kBuf, vBuf, c.dims, { q: ql, k: kv, v: kv, out: ql }, c.tuning);
  await step.submit();
  const outHost = await ctx.readF32(outBuf, elements);
  const lse = await ctx.readF32(lseBuf, B * hq);
  for (const b of bufs) b.destroy();

  const out = new Float32Array(B * row);
  const inside = new Uint8Array(elements);
  for (let b = 0; b < B; b++) {
    const at = ql.offset + b * ql.batchStride;
    out.set(outHost.subarray(at, at + row), b * row);
    inside.fill(1, at, at + row);
  }
  const gaps = Array.from(outHost).filter((_, i) => !inside[i]);
  return { out, lse, gaps };
}

export async function runDecodeCase(ctx: GpuContext, c: DecodeCase, seed: number): Promise<CheckOutcome[]> {
  const x = randomDecodeInputs(c, seed);
  const got = await runDecodeOnGpu(ctx, c, x);
  const want = decodeReference(c, x);
  const name = label(c);
  const results = [outcome(`out ${name}`, got.out, want.out, decodeTolerance), outcome(`lse ${name}`, got.lse, want.lse, decodeTolerance)];
  if (got.gaps.length) {
    // Every element outside out's rows must still be the NaN it started as.
    const written = got.gaps.filter((g) => !Number.isNaN(g)).length;
    results.push({
      label: `gaps ${name}`,
      pass: written === 0,
      maxAbsError: 0,
      detail: `gaps ${name}: ${written} of ${got.gaps.length} elements outside out's rows were written`,
      digest: `${written}`,
    });
  }
  return results;
}

/**
 * Small enough for the in-browser self-test on a software adapter: one pass and two, GQA, odd D, a cache,
 * f32 and vec4 reads. Head dims 64 and 37, as tests/gpu/attention-decode.test.ts, which then compiles no
 * pipeline twice.
 */
export const decodeCheckCases: DecodeCase[] = [
  // Four chunks (the last of 8 keys), two requests in one dispatch, 3 query heads per kv head, a larger cache,
  // q and out at unaligned offsets (f32 reads).
  { dims: { batch: 2, tk: 200, hq: 6, hkv: 2, headDim: 64 }, kvCapacity: 256, spaced: true },
  // One chunk (no merge pass); odd head dim, MHA.
  { dims: { batch: 1, tk: 20, hq: 3, hkv: 3, headDim: 37 }, kvCapacity: 24 },
  // Two chunks, the second of one key; sharp rows; aligned, so q, k and v are read as vec4s.
  { dims: { batch: 1, tk: 65, hq: 3, hkv: 1, headDim: 64 }, amplitude: 6 },
];

export const attentionDecodeChecks: KernelCheck[] = [
  {
    name: 'attention.decode',
    tolerance: decodeTolerance,
    async run(ctx) {
      const results = [];
      for (const [i, c] of decodeCheckCases.entries()) results.push(...(await runDecodeCase(ctx, c, 700 + i)));
      return results;
    },
  },
];

export { decodeTolerance as attentionDecodeTolerance };
