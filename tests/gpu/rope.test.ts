import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { ropeForward, ropeInverseFrequencies, type RopeShape } from '../../src/engine/ops/cpu/rope';
import { ropeBackward as gpuRopeBackward, ropeForward as gpuRopeForward, ropeQkv, ropeQkvBackward, type RopeOptions } from '../../src/engine/ops/gpu/rope';
import { ropeChecks } from '../../src/engine/selftest/checks/rope';
import { Rng } from '../../src/engine/util/rng';
import { expectClose, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

// Same bound as the self-check: ~1e-7 cos/sin error times |x| + |y| < 2, plus roundings.
const tolerance = { atol: 1e-6, rtol: 1e-5 };

/** GPU forward RoPE of seeded x against the reference; returns the largest absolute error. */
async function forwardError(ctx: GpuContext, shape: RopeShape, theta: number, seed: number): Promise<number> {
  const { B, T, H, D } = shape;
  const n = B * T * H * D;
  const x = new Rng(seed).f32(n);
  const inv = ropeInverseFrequencies(D, theta);
  const xb = ctx.upload(x);
  const ib = ctx.upload(inv);
  const pb = shape.positions ? ctx.upload(shape.positions) : undefined;
  const ob = ctx.createBuffer(n * 4);
  const options: RopeOptions = { positionOffset: shape.positionOffset, positions: pb };
  const step = ctx.step();
  gpuRopeForward(step, ob, xb, ib, { batch: B, seqLen: T, heads: H, headDim: D }, options);
  await step.submit();
  const want = new Float64Array(n);
  ropeForward(want, Float64Array.from(x), inv, shape);
  const label = `rope B=${B} T=${T} H=${H} D=${D} offset=${shape.positionOffset ?? 0}`;
  const err = expectClose(await ctx.readF32(ob, n), want, tolerance, label);
  for (const b of [xb, ib, pb, ob]) b?.destroy();
  return err;
}

describe('RoPE kernel on WebGPU', () => {
  for (const check of ropeChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }

  it('matches HF angles at every position 0..4095 (head dim 128, theta 10000)', async () => {
    await forwardError(await testGpu(), { B: 1, T: 4096, H: 1, D: 128 }, 10000, 1);
  });

  it('stays accurate at large absolute positions (angles up to ~1.9e5 rad)', async () => {
    const ctx = await testGpu();
    // |k| = |angle| / (pi/2) reaches ~121000 < 2^17, the limit of the exact reduction.
    await forwardError(ctx, { B: 1, T: 64, H: 2, D: 64, positionOffset: 32000 }, 10000, 2);
    await forwardError(ctx, { B: 1, T: 64, H: 2, D: 64, positionOffset: 131000 }, 500000, 3);
    await forwardError(ctx, { B: 1, T: 64, H: 2, D: 64, positionOffset: 190000 }, 10000, 9);
  });

  it('is the identity at position 0, bit for bit', async () => {
    const ctx = await testGpu();
    const x = new Rng(4).f32(3 * 16);
    const xb = ctx.upload(x);
    const ib = ctx.upload(ropeInverseFrequencies(16, 10000));
    const ob = ctx.createBuffer(x.length * 4);
    const step = ctx.step();
    gpuRopeForward(step, ob, xb, ib, { batch: 1, seqLen: 1, heads: 3, headDim: 16 });
    await step.submit();
    expect(await ctx.readF32(ob, x.length)).toEqual(x);
    for (const b of [xb, ib, ob]) b.destroy();
  });

  it('handles D = 2, T = 1 and a positions buffer combined with an offset', async () => {
    const ctx = await testGpu();
    await forwardError(ctx, { B: 1, T: 1, H: 1, D: 2, positionOffset: 7 }, 10000, 5);
    const positions = Int32Array.of(0, 1, 2, 0, 1, 3, 2, 1);
    await forwardError(ctx, { B: 2, T: 4, H: 3, D: 10, positionOffset: 12, positions }, 1000000, 6);
  });

  it('undoes the forward with the backward (rotation by -angle)', async () => {
    const ctx = await testGpu();
    const dims = { batch: 2, seqLen: 33, heads: 4, headDim: 64 };
    const n = 2 * 33 * 4 * 64;
    const x = new Rng(7).f32(n);
    const xb = ctx.upload(x);
    const ib = ctx.upload(ropeInverseFrequencies(64, 500000));
    const yb = ctx.createBuffer(n * 4);
    const zb = ctx.createBuffer(n * 4);
    const step = ctx.step();
    gpuRopeForward(step, yb, xb, ib, dims, { positionOffset: 1000 });
    gpuRopeBackward(step, zb, yb, ib, dims, { positionOffset: 1000 });
    await step.submit();
    expectClose(await ctx.readF32(zb, n), x, { atol: 5e-7, rtol: 0 }, 'backward(forward(x))');
    for (const b of [xb, ib, yb, zb]) b.destroy();
  });

  it('rotates q and k of a fused projection (ropeQkv, ropeQkvBackward) exactly as single RoPE calls, v untouched', async () => {
    const ctx = await testGpu();
    const [T, Hq, Hkv, D] = [37, 9, 3, 64];
    const [Q, K] = [Hq * D, Hkv * D];
    const W = Q + 2 * K;
    const fused = new Rng(11).f32(T * W);
    const columns = (x: Float32Array, from: number, width: number) => {
      const out = new Float32Array(T * width);
      for (let t = 0; t < T; t++) out.set(x.subarray(t * W + from, t * W + from + width), t * width);
      return out;
    };
    const positions = Int32Array.from({ length: T }, (_, t) => (t * 7) % 19);
    const [fb, pb] = [ctx.upload(fused), ctx.upload(positions)];
    const [fq, fk] = [ctx.upload(columns(fused, 0, Q)), ctx.upload(columns(fused, Q, K))];
    const ib = ctx.upload(ropeInverseFrequencies(D, 100000));
    const dims = { batch: 1, seqLen: T, heads: Hq, headDim: D };
    const options = { positions: pb, positionOffset: 3 };

    // Forward: the fused rows to q, k (rotated) and v (as they are).
    const widths = [Q, K, K, Q, K];
    const outs = widths.map((width) => ctx.createBuffer(T * width * 4));
    let step = ctx.step();
    ropeQkv(step, fb, { q: outs[0], k: outs[1], v: outs[2] }, ib, { ...dims, kvHeads: Hkv }, options);
    gpuRopeForward(step, outs[3], fq, ib, dims, options);
    gpuRopeForward(step, outs[4], fk, ib, { ...dims, heads: Hkv }, options);
    expect(step.dispatchCount).toBe(3);
    await step.submit();
    const [gotQ, gotK, gotV, oneQ, oneK] = await Promise.all(outs.map((b, i) => ctx.readF32(b, T * widths[i])));
    expect(Array.from(gotQ)).toEqual(Array.from(oneQ));
    expect(Array.from(gotK)).toEqual(Array.from(oneK));
    expect(Array.from(gotV)).toEqual(Array.from(columns(fused, Q + K, K)));
    expect(Math.abs(gotK[D + 1] - fused[W + Q + D + 1])).toBeGreaterThan(0); // position 3 + 7: it did rotate

    // Backward, in place on the fused rows: dq, dk rotated back, dv left as it is.
    const single = [Q, K].map((width) => ctx.createBuffer(T * width * 4));
    step = ctx.step();
    gpuRopeBackward(step, single[0], fq, ib, dims, options);
    gpuRopeBackward(step, single[1], fk, ib, { ...dims, heads: Hkv }, options);
    ropeQkvBackward(step, fb, ib, { ...dims, kvHeads: Hkv }, options);
    await step.submit();
    const got = await ctx.readF32(fb, T * W);
    expect(Array.from(columns(got, 0, Q))).toEqual(Array.from(await ctx.readF32(single[0], T * Q)));
    expect(Array.from(columns(got, Q, K))).toEqual(Array.from(await ctx.readF32(single[1], T * K)));
    expect(Array.from(columns(got, Q + K, K))).toEqual(Array.from(columns(fused, Q + K, K)));
    for (const b of [fb, pb, fq, fk, ib, ...outs, ...single]) b.destroy();
  });

  it('folds more than 65535 workgroups into a 2-D grid', async () => {
    // D = 2: one invocation per token; 65537 * 64 tokens need 65537 workgroups of 64.
    await forwardError(await testGpu(), { B: 65537, T: 64, H: 1, D: 2 }, 10000, 8);
  });
});
