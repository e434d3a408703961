// Self-checks of the RoPE kernel against the float64 CPU reference (cos and sin of HF's f32 angle).
// Cases cover positions into the thousands (large angles exercise the kernel's own range reduction),
// a decode step at an absolute position, packed sequences with a positions buffer, and the backward.

import type { GpuContext } from '../../gpu/context';
import { ropeBackward, ropeForward, ropeInverseFrequencies, type RopeShape } from '../../ops/cpu/rope';
import { ropeBackward as gpuRopeBackward, ropeForward as gpuRopeForward, type RopeDims } from '../../ops/gpu/rope';
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

export const ropeChecks: KernelCheck[] = [
  { name: 'rope.forward', tolerance, run: (ctx) => runCases(ctx, 'forward') },
  { name: 'rope.backward', tolerance, run: (ctx) => runCases(ctx, 'backward') },
];
