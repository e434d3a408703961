import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import type { StepEncoder } from '../../src/engine/gpu/step-encoder';
import { geluForward, siluForward, swigluBackward as cpuSwigluBackward } from '../../src/engine/ops/cpu/activations';
import { gelu, geluBackward, silu, siluBackward, swigluBackward } from '../../src/engine/ops/gpu/activations';
import { activationsChecks } from '../../src/engine/selftest/checks/activations';
import { Rng } from '../../src/engine/util/rng';
import { expectClose, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

/** Uploads `inputs`, runs `record` into a fresh (n) output, returns it. */
async function run(ctx: GpuContext, inputs: Float32Array[], n: number, record: (step: StepEncoder, out: GPUBuffer, ins: GPUBuffer[]) => void): Promise<Float32Array> {
  const ins = inputs.map((a) => ctx.upload(a));
  const out = ctx.createBuffer(n * 4);
  try {
    const step = ctx.step();
    record(step, out, ins);
    await step.submit();
    return await ctx.readF32(out, n);
  } finally {
    for (const b of [...ins, out]) b.destroy();
  }
}

describe('activation kernels on WebGPU', () => {
  for (const check of activationsChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }

  it('stays finite for inputs up to the largest f32', async () => {
    const ctx = await testGpu();
    const big = [1, 10, 15.5, 20, 44, 50, 88, 89, 100, 1e4, 1e13, 1e30, 3.4e38];
    const x = Float32Array.from([0, ...big, ...big.map((v) => -v)]);
    const n = x.length;
    const dy = new Float32Array(n).fill(1);
    const outs = {
      silu: await run(ctx, [x], n, (s, o, [xb]) => silu(s, o, xb, n)),
      gelu: await run(ctx, [x], n, (s, o, [xb]) => gelu(s, o, xb, n)),
      siluBackward: await run(ctx, [x, dy], n, (s, o, [xb, db]) => siluBackward(s, o, xb, db, n)),
      geluBackward: await run(ctx, [x, dy], n, (s, o, [xb, db]) => geluBackward(s, o, xb, db, n)),
    };
    for (const [name, out] of Object.entries(outs)) {
      const bad = [...out].findIndex((v) => !Number.isFinite(v));
      expect(bad, `${name}(${x[bad]}) = ${out[bad]}`).toBe(-1);
    }
    // Saturation from |x| = 20 on: f(x) = x, f'(x) = 1 for positive x exactly in f32; for negative x GELU is
    // exactly (+-)0, SiLU's tail x e^x is below 1e-7 (and exactly 0 beyond |x| ~ 110).
    for (let i = 0; i < n; i++) {
      if (Math.abs(x[i]) < 20) continue;
      const label = `x=${x[i]}`;
      if (x[i] > 0) {
        expect([outs.silu[i], outs.gelu[i], outs.siluBackward[i], outs.geluBackward[i]], label).toEqual([x[i], x[i], 1, 1]);
      } else {
        expect(Math.abs(outs.gelu[i]) + Math.abs(outs.geluBackward[i]), label).toBe(0);
        expect(Math.abs(outs.silu[i]), label).toBeLessThan(1e-7);
        expect(Math.abs(outs.siluBackward[i]), label).toBeLessThan(1e-7);
      }
    }
  });

  it('folds grids larger than 65535 workgroups into two dimensions', async () => {
    const ctx = await testGpu();
    const n = 65535 * 256 + 300; // 65537 workgroups of 256
    const x = new Rng(5).f32(n, -8, 8);
    const got = await run(ctx, [x], n, (s, o, [xb]) => silu(s, o, xb, n));
    const want = new Float64Array(n);
    siluForward(want, x);
    expectClose(got, want, { atol: 1e-7, rtol: 4e-6 }, 'silu over 16.8M elements');
  });

  it('computes gelu on a workgroup-multiple size exactly like a ragged one', async () => {
    const ctx = await testGpu();
    const x = new Rng(9).f32(512, -6, 6);
    const whole = await run(ctx, [x], 512, (s, o, [xb]) => gelu(s, o, xb, 512));
    const part = await run(ctx, [x.subarray(0, 300)], 300, (s, o, [xb]) => gelu(s, o, xb, 300));
    expect([...part]).toEqual([...whole.subarray(0, 300)]);
    const want = new Float64Array(512);
    geluForward(want, x);
    expectClose(whole, want, { atol: 1e-7, rtol: 4e-6 }, 'gelu n=512');
  });

  it('writes both SwiGLU gradient halves of a fused buffer and nothing past it', async () => {
    const ctx = await testGpu();
    const [rows, features] = [3, 5];
    const n = rows * features;
    const rng = new Rng(12);
    const gate = rng.f32(n, -4, 4);
    const up = rng.f32(n, -2, 2);
    const dh = rng.f32(n);
    const sentinel = 12345;
    const total = 2 * n + 4; // four guard words after the (N, 2F) gradient
    const init = new Float32Array(total).fill(sentinel);
    const ins = [gate, up, dh].map((a) => ctx.upload(a));
    const dgu = ctx.upload(init);
    const step = ctx.step();
    swigluBackward(step, { dgateUp: dgu }, { gate: ins[0], up: ins[1] }, ins[2], { rows, features });
    await step.submit();
    const got = await ctx.readF32(dgu, total);
    for (const b of [...ins, dgu]) b.destroy();
    expect([...got.subarray(2 * n)]).toEqual([sentinel, sentinel, sentinel, sentinel]);
    const dgate = new Float64Array(n);
    const dup = new Float64Array(n);
    cpuSwigluBackward(dgate, dup, Float64Array.from(gate), Float64Array.from(up), Float64Array.from(dh));
    const want = new Float64Array(2 * n);
    for (let r = 0; r < rows; r++) {
      want.set(dgate.subarray(r * features, (r + 1) * features), 2 * r * features);
      want.set(dup.subarray(r * features, (r + 1) * features), (2 * r + 1) * features);
    }
    expectClose(got.subarray(0, 2 * n), want, { atol: 2e-7, rtol: 4e-6 }, 'fused dgate | dup');
  });
});
