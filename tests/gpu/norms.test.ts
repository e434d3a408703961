import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { layerNormBackward, layerNormForward, rmsNormBackward, rmsNormForward } from '../../src/engine/ops/cpu/norms';
import {
  layerNormBackward as gpuLayerNormBackward,
  layerNormForward as gpuLayerNormForward,
  layerNormParamGrad,
  rmsNormBackward as gpuRmsNormBackward,
  rmsNormForward as gpuRmsNormForward,
  rmsNormWeightGrad,
  type NormVariant,
} from '../../src/engine/ops/gpu/norms';
import { normsChecks } from '../../src/engine/selftest/checks/norms';
import { Rng } from '../../src/engine/util/rng';
import { expectClose, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const VARIANTS: NormVariant[] = ['workgroup', 'row'];

/** Runs every norm kernel on one shape and compares all outputs with the CPU references. */
async function fullCheck(ctx: GpuContext, N: number, C: number, variant: NormVariant, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const dims = { rows: N, channels: C };
  const x = rng.f32(N * C, -2, 2);
  const w = rng.f32(C, 0.5, 1.5);
  const b = rng.f32(C, -0.5, 0.5);
  const dy = rng.f32(N * C);
  const up = (a: Float32Array) => ctx.upload(a);
  const [xb, wb, bb, dyb] = [up(x), up(w), up(b), up(dy)];
  const out = (n: number) => ctx.createBuffer(n * 4);
  const [y, rstd, dx, dw, ly, lmean, lrstd, ldx, ldw, ldb] = [N * C, N, N * C, C, N * C, N, N, N * C, C, C].map(out);

  // The backward kernels consume what the forward kernels saved, as the engine will.
  const step = ctx.step();
  gpuRmsNormForward(step, y, rstd, xb, wb, dims, { eps: 1e-6, variant });
  gpuRmsNormBackward(step, dx, dyb, xb, wb, rstd, dims, { variant });
  rmsNormWeightGrad(step, dw, dyb, xb, rstd, dims);
  gpuLayerNormForward(step, ly, lmean, lrstd, xb, wb, bb, dims, { eps: 1e-5, variant });
  gpuLayerNormBackward(step, ldx, dyb, xb, wb, lmean, lrstd, dims, { variant });
  layerNormParamGrad(step, ldw, ldb, dyb, xb, lmean, lrstd, dims);
  await step.submit();
  const read = (buf: GPUBuffer, n: number) => ctx.readF32(buf, n);

  const wantY = new Float64Array(N * C);
  const wantR = new Float64Array(N);
  rmsNormForward(wantY, wantR, f64(x), f64(w), N, C, 1e-6);
  const gotR = await read(rstd, N);
  expectClose(await read(y, N * C), wantY, { atol: 1e-6, rtol: 1e-5 }, `rmsnorm y N=${N} C=${C} ${variant}`);
  expectClose(gotR, wantR, { atol: 1e-6, rtol: 1e-5 }, 'rmsnorm rstd');
  const wantDx = new Float64Array(N * C);
  const wantDw = new Float64Array(C);
  rmsNormBackward(wantDx, wantDw, f64(dy), f64(x), f64(w), f64(gotR), N, C);
  expectClose(await read(dx, N * C), wantDx, { atol: 1e-6, rtol: 1e-4 }, 'rmsnorm dx');
  expectClose(await read(dw, C), wantDw, { atol: 2e-5, rtol: 1e-4 }, 'rmsnorm dw');

  const wantLy = new Float64Array(N * C);
  const wantM = new Float64Array(N);
  const wantLr = new Float64Array(N);
  layerNormForward(wantLy, wantM, wantLr, f64(x), f64(w), f64(b), N, C, 1e-5);
  const gotM = await read(lmean, N);
  const gotLr = await read(lrstd, N);
  expectClose(await read(ly, N * C), wantLy, { atol: 3e-6, rtol: 2e-5 }, `layernorm y N=${N} C=${C} ${variant}`);
  expectClose(gotM, wantM, { atol: 1e-6, rtol: 1e-5 }, 'layernorm mean');
  expectClose(gotLr, wantLr, { atol: 1e-6, rtol: 1e-5 }, 'layernorm rstd');
  const wantLdx = new Float64Array(N * C);
  const wantLdw = new Float64Array(C);
  const wantLdb = new Float64Array(C);
  layerNormBackward(wantLdx, wantLdw, wantLdb, f64(dy), f64(x), f64(w), f64(gotM), f64(gotLr), N, C);
  expectClose(await read(ldx, N * C), wantLdx, { atol: 1e-6, rtol: 1e-4 }, 'layernorm dx');
  expectClose(await read(ldw, C), wantLdw, { atol: 2e-5, rtol: 1e-4 }, 'layernorm dw');
  expectClose(await read(ldb, C), wantLdb, { atol: 2e-5, rtol: 1e-4 }, 'layernorm db');

  for (const buf of [xb, wb, bb, dyb, y, rstd, dx, dw, ly, lmean, lrstd, ldx, ldw, ldb]) buf.destroy();
}

describe('norm kernels on WebGPU', () => {
  for (const check of normsChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }

  for (const variant of VARIANTS) {
    it(`handles one row of one channel (T = 1, C = 1), ${variant} variant`, async () => {
      await fullCheck(await testGpu(), 1, 1, variant, 1);
    });

    it(`handles C = 4099 (not a multiple of 4, > 8 columns per invocation), ${variant} variant`, async () => {
      await fullCheck(await testGpu(), 9, 4099, variant, 2);
    });

    // Barriers are slow on software adapters: fewer rows for the workgroup variant, still several workgroups.
    const rows = variant === 'row' ? 643 : 97;
    it(`handles many rows over several workgroups (N = ${rows}, C = 896), ${variant} variant`, async () => {
      await fullCheck(await testGpu(), rows, 896, variant, 3);
    });
  }

  it('reduces parameter gradients over more than 64 * 1024 rows (larger row blocks)', async () => {
    // 70000 rows: 69 rows per block, 1015 blocks.
    await fullCheck(await testGpu(), 70000, 8, 'row', 4);
  });

  it('folds more than 65535 workgroups of rows into a 2-D grid', async () => {
    const ctx = await testGpu();
    // The row variant puts 64 rows in a workgroup, so 65535 * 64 + 9 rows need 65537 workgroups.
    const N = 65535 * 64 + 9;
    const x = new Rng(5).f32(N, -2, 2);
    const w = Float32Array.of(-1.5);
    const [xb, wb] = [ctx.upload(x), ctx.upload(w)];
    const [yb, rb] = [ctx.createBuffer(N * 4), ctx.createBuffer(N * 4)];
    const step = ctx.step();
    gpuRmsNormForward(step, yb, rb, xb, wb, { rows: N, channels: 1 }, { eps: 1e-6, variant: 'row' });
    await step.submit();
    const want = new Float64Array(N);
    rmsNormForward(want, new Float64Array(N), f64(x), f64(w), N, 1, 1e-6);
    expectClose(await ctx.readF32(yb, N), want, { atol: 1e-6, rtol: 1e-5 }, 'rmsnorm y over a folded grid');
    for (const buf of [xb, wb, yb, rb]) buf.destroy();
  });

  it('gives bitwise identical results when run twice', async () => {
    const ctx = await testGpu();
    const [N, C] = [30, 577];
    const rng = new Rng(6);
    const x = rng.f32(N * C);
    const w = rng.f32(C);
    const dy = rng.f32(N * C);
    const [xb, wb, dyb] = [ctx.upload(x), ctx.upload(w), ctx.upload(dy)];
    const runOnce = async (): Promise<Uint32Array[]> => {
      const bufs = [N * C, N, N * C, C].map((n) => ctx.createBuffer(n * 4));
      const [yb, rb, dxb, dwb] = bufs;
      const step = ctx.step();
      const dims = { rows: N, channels: C };
      gpuRmsNormForward(step, yb, rb, xb, wb, dims, { eps: 1e-6 });
      gpuRmsNormBackward(step, dxb, dyb, xb, wb, rb, dims);
      rmsNormWeightGrad(step, dwb, dyb, xb, rb, dims);
      await step.submit();
      const out = await Promise.all(bufs.map((b) => ctx.readU32(b, b.size / 4)));
      for (const b of bufs) b.destroy();
      return out;
    };
    const first = await runOnce();
    const second = await runOnce();
    second.forEach((a, i) => expect(a).toEqual(first[i]));
    for (const b of [xb, wb, dyb]) b.destroy();
  });
});
