// Self-checks of the RoPE kernel against the float64 CPU reference (cos and sin of HF's f32 angle).
// Cases cover positions into the thousands (large angles exercise the kernel's own range reduction),
// a decode step at an absolute position, packed sequences with a positions buffer, and the backward.

import type { GpuContext } from '../../gpu/context';
import { ropeBackward, ropeForward, ropeInverseFrequencies, type RopeShape } from '../../ops/cpu/rope';
import { ropeBackward as gpuRopeBackward, ropeForward as gpuRopeForward, ropeQkv, ropeQkvBackward, type RopeDims } from '../../ops/gpu/rope';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

// |x| < 1, so out = x cos - y sin is off by the kernel's cos/sin error (~1e-7, after an exact reduction of
// the f32 angle) times |x| + |y|, plus two roundings.
const tolerance = { atol: 1e-6, rtol: 1e-5 };

interface RopeCase {
  B: number;
  T: number;
  H: number;
  D: number;
  theta: number;
  positionOffset?: number;
  /** Packed sequences: the lengths the positions restart after, per batch row. */
  segments?: number[];
}

const CASES: RopeCase[] = [
  { B: 2, T: 5, H: 3, D: 8, theta: 10000 },
  { B: 1, T: 40, H: 2, D: 64, theta: 500000, positionOffset: 4000 }, // angles up to ~4040 rad
  { B: 1, T: 1, H: 14, D: 64, theta: 1000000, positionOffset: 2047 }, // one decode step
  { B: 2, T: 9, H: 2, D: 6, theta: 10000, segments: [4, 5] }, // packed: positions 0..3, 0..4
];

function positionsOf(c: RopeCase): Int32Array | undefined {
  if (!c.segments) return undefined;
  const out = new Int32Array(c.B * c.T);
  for (let b = 0; b < c.B; b++) {
    let t = 0;
    for (const len of c.segments) for (let j = 0; j < len && t < c.T; j++) out[b * c.T + t++] = j;
  }
  return out;
}

const caseLabel = (c: RopeCase) =>
  `B=${c.B} T=${c.T} H=${c.H} D=${c.D} theta=${c.theta}` +
  (c.positionOffset ? ` offset=${c.positionOffset}` : '') +
  (c.segments ? ` packed=${c.segments.join('+')}` : '');

async function runCases(ctx: GpuContext, direction: 'forward' | 'backward'): Promise<CheckOutcome[]> {
  const rng = new Rng(direction === 'forward' ? 201 : 202);
  const results: CheckOutcome[] = [];
  for (const c of CASES) {
    const n = c.B * c.T * c.H * c.D;
    const x = rng.f32(n);
    const inv = ropeInverseFrequencies(c.D, c.theta);
    const positions = positionsOf(c);
    const xb = ctx.upload(x);
    const ib = ctx.upload(inv);
    const pb = positions ? ctx.upload(positions) : undefined;
    const ob = ctx.createBuffer(n * 4);
    try {
      const dims: RopeDims = { batch: c.B, seqLen: c.T, heads: c.H, headDim: c.D };
      const options = { positionOffset: c.positionOffset, positions: pb };
      const step = ctx.step();
      if (direction === 'forward') gpuRopeForward(step, ob, xb, ib, dims, options);
      else gpuRopeBackward(step, ob, xb, ib, dims, options);
      await step.submit();
      const got = await ctx.readF32(ob, n);
      const shape: RopeShape = { B: c.B, T: c.T, H: c.H, D: c.D, positionOffset: c.positionOffset, positions };
      const want = new Float64Array(n);
      if (direction === 'forward') ropeForward(want, Float64Array.from(x), inv, shape);
      else ropeBackward(want, Float64Array.from(x), inv, shape);
      results.push(outcome(caseLabel(c), got, want, tolerance));
    } finally {
      for (const b of [xb, ib, pb, ob]) b?.destroy();
    }
  }
  return results;
}

/** Columns [from, from + width) of (rows, ld) row-major values, as (rows, width). */
function columns(x: ArrayLike<number>, rows: number, ld: number, from: number, width: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) out[r * width + c] = x[r * ld + from + c];
  return out;
}

/**
 * rope.qkv against the reference: forward, a fused (N, Q + 2K) projection to q, k rotated and v as it is;
 * backward, gradients [dq | dk | dv] in the fused rows, dq and dk rotated back in place and dv untouched.
 * Packed positions (restarting).
 */
async function runQkvCases(ctx: GpuContext): Promise<CheckOutcome[]> {
  const rng = new Rng(203);
  const [N, Hq, Hkv, D, theta] = [11, 3, 1, 8, 10000];
  const [Q, K] = [Hq * D, Hkv * D];
  const W = Q + 2 * K;
  const positions = Int32Array.from({ length: N }, (_, t) => (t < 6 ? t : t - 6) + 1);
  const inv = ropeInverseFrequencies(D, theta);
  const shape = (H: number): RopeShape => ({ B: 1, T: N, H, D, positions });
  const dims = { batch: 1, seqLen: N, heads: Hq, kvHeads: Hkv, headDim: D };
  const fused = rng.f32(N * W);
  const grads = rng.f32(N * W); // [dq | dk | dv] per row, as the attention backward writes them
  const owned: GPUBuffer[] = [];
  const keep = (b: GPUBuffer) => (owned.push(b), b);
  try {
    const [ib, pb, fb] = [keep(ctx.upload(inv)), keep(ctx.upload(positions)), keep(ctx.upload(fused))];
    const outs = [Q, K, K].map((w) => keep(ctx.createBuffer(N * w * 4)));
    const gradsBuffer = keep(ctx.upload(grads));
    const step = ctx.step();
    ropeQkv(step, fb, { q: outs[0], k: outs[1], v: outs[2] }, ib, dims, { positions: pb });
    ropeQkvBackward(step, gradsBuffer, ib, dims, { positions: pb });
    await step.submit();
    const [q, k, v] = await Promise.all(outs.map((b, i) => ctx.readF32(b, N * [Q, K, K][i])));
    const back = await ctx.readF32(gradsBuffer, N * W);

    const wantQ = new Float64Array(N * Q);
    const wantK = new Float64Array(N * K);
    ropeForward(wantQ, columns(fused, N, W, 0, Q), inv, shape(Hq));
    ropeForward(wantK, columns(fused, N, W, Q, K), inv, shape(Hkv));
    const wantDq = new Float64Array(N * Q);
    const wantDk = new Float64Array(N * K);
    ropeBackward(wantDq, columns(grads, N, W, 0, Q), inv, shape(Hq));
    ropeBackward(wantDk, columns(grads, N, W, Q, K), inv, shape(Hkv));
    const label = `N=${N} Hq=${Hq} Hkv=${Hkv} D=${D} packed`;
    return [
      outcome(`forward q ${label}`, q, wantQ, tolerance),
      outcome(`forward k ${label}`, k, wantK, tolerance),
      outcome(`forward v ${label}`, v, columns(fused, N, W, Q + K, K), { atol: 0, rtol: 0 }),
      outcome(`backward dq ${label}`, columns(back, N, W, 0, Q), wantDq, tolerance),
      outcome(`backward dk ${label}`, columns(back, N, W, Q, K), wantDk, tolerance),
      outcome(`backward dv ${label}`, columns(back, N, W, Q + K, K), columns(grads, N, W, Q + K, K), { atol: 0, rtol: 0 }),
    ];
  } finally {
    for (const b of owned) b.destroy();
  }
}

export const ropeChecks: KernelCheck[] = [
  { name: 'rope.forward', tolerance, run: (ctx) => runCases(ctx, 'forward') },
  { name: 'rope.backward', tolerance, run: (ctx) => runCases(ctx, 'backward') },
  { name: 'rope.qkv', tolerance, run: (ctx) => runQkvCases(ctx) },
];
