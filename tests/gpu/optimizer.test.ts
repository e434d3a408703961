import { describe, expect, it } from 'vitest';
import { adamwUpdate, clipCoefficient, globalGradNorm, type AdamWHyper } from '../../src/engine/ops/cpu/adamw';
import { adamw } from '../../src/engine/ops/gpu/adamw';
import { clipSource, gradNorm } from '../../src/engine/ops/gpu/grad-norm';
import {
  ADAMW_RTOL_VS_F32,
  ADAMW_RTOL_VS_F64,
  gradNormSumDepth,
  momentTolerance,
  optimizerChecks,
  paramTolerance,
} from '../../src/engine/selftest/checks/optimizer';
import { Rng } from '../../src/engine/util/rng';
import { expectClose, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

const U = 2 ** -24;
const HYPER: Omit<AdamWHyper, 'lr'> = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

describe('optimizer kernels on WebGPU', () => {
  for (const check of optimizerChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }

  // 30 buffers of odd sizes, like the LoRA A and B matrices of many layers (one of 1 element).
  const SIZES = [1, 2, 3, 5, 7, 11, 13, 17, 31, 63, 64, 65, 127, 255, 257, 333, 511, 513, 1000, 1023, 1025, 2047, 4095,
    4096, 4097, 5000, 8191, 9999, 12345, 50001];

  for (const clipping of ['applied', 'not needed', 'disabled'] as const) {
    it(`norms 30 gradient buffers and steps AdamW on all of them in one submit (clipping ${clipping})`, async () => {
      const ctx = await testGpu();
      const rng = new Rng(51);
      const lrs = [1e-3, 3e-3, 2e-3];
      const params = SIZES.map((n) => rng.normals(n, 0.2));
      const steps = lrs.map(() => SIZES.map((n, i) => rng.normals(n, 0.001 * (1 + (i % 7)))));
      const pbs = params.map((p) => ctx.upload(p));
      const mbs = SIZES.map((n) => ctx.upload(new Float32Array(n)));
      const vbs = SIZES.map((n) => ctx.upload(new Float32Array(n)));
      const result = ctx.createBuffer(8);
      const want = params.map((p) => ({ p: Float64Array.from(p), m: new Float64Array(p.length), v: new Float64Array(p.length) }));
      const normRtol = (gradNormSumDepth(SIZES) / 2 + 2) * U;
      for (let t = 1; t <= lrs.length; t++) {
        const grads = steps[t - 1];
        const norm = globalGradNorm(grads);
        const maxNorm = clipping === 'applied' ? norm / 2 : clipping === 'not needed' ? norm * 2 : 0;
        const gbs = grads.map((g) => ctx.upload(g));
        const step = ctx.step();
        gradNorm(step, result, SIZES.map((n, i) => ({ buffer: gbs[i], n })), { maxNorm });
        for (let i = 0; i < SIZES.length; i++) {
          adamw(step, pbs[i], gbs[i], mbs[i], vbs[i], SIZES[i], { ...HYPER, lr: lrs[t - 1] }, t, { clip: clipSource(result) });
        }
        const logged = step.read(result, 0, 8); // the once-per-step readback, after everything else
        await step.submit();
        const [gotNorm, gotCoef] = new Float32Array(await logged.data());
        const coef = clipCoefficient(norm, maxNorm);
        expectClose([gotNorm], [norm], { atol: 0, rtol: normRtol }, `step ${t} norm`);
        expectClose([gotCoef], [coef], { atol: 0, rtol: normRtol + 4 * U }, `step ${t} clip coefficient`);
        if (clipping !== 'applied') expect(gotCoef).toBe(1);
        want.forEach((w, i) => {
          adamwUpdate(w.p, Float64Array.from(grads[i]), w.m, w.v, { ...HYPER, lr: lrs[t - 1] }, t, { clipCoef: coef });
        });
        for (const b of gbs) b.destroy();
      }
      let worst = 0;
      for (let i = 0; i < SIZES.length; i++) {
        const got = await ctx.readF32(pbs[i], SIZES[i]);
        worst = Math.max(worst, expectClose(got, want[i].p, paramTolerance(lrs, ADAMW_RTOL_VS_F64), `param ${i} (n=${SIZES[i]})`));
      }
      console.log(`30 buffers, clipping ${clipping}: max |param - float64 reference| = ${worst.toExponential(2)}`);
      for (const b of [...pbs, ...mbs, ...vbs, result]) b.destroy();
    });
  }

  const VS_F32 = { atol: 0, rtol: ADAMW_RTOL_VS_F32 };

  async function runAdamW(n: number, hyper: Omit<AdamWHyper, 'lr'>, lrs: number[], gradScale: number, zeroGrad = false) {
    const ctx = await testGpu();
    const rng = new Rng(52);
    const p0 = rng.normals(n, 0.5);
    const grads = lrs.map(() => (zeroGrad ? new Float32Array(n) : rng.normals(n, gradScale)));
    const pb = ctx.upload(p0);
    const mb = ctx.upload(new Float32Array(n));
    const vb = ctx.upload(new Float32Array(n));
    const p32 = Float32Array.from(p0);
    const m32 = new Float32Array(n);
    const v32 = new Float32Array(n);
    for (let t = 1; t <= lrs.length; t++) {
      const gb = ctx.upload(grads[t - 1]);
      const step = ctx.step();
      adamw(step, pb, gb, mb, vb, n, { ...hyper, lr: lrs[t - 1] }, t);
      await step.submit();
      gb.destroy();
      adamwUpdate(p32, grads[t - 1], m32, v32, { ...hyper, lr: lrs[t - 1] }, t, { precision: 'float32' });
    }
    const got = { p: await ctx.readF32(pb, n), m: await ctx.readF32(mb, n), v: await ctx.readF32(vb, n) };
    for (const b of [pb, mb, vb]) b.destroy();
    return { got, want: { p: p32, m: m32, v: v32 }, grads };
  }

  it('steps 100003 elements (many workgroups, not a multiple of 256) like the float32 mirror of torch', async () => {
    const lrs = [1e-3, 5e-3, 2e-3, 4e-3];
    const { got, want, grads } = await runAdamW(100_003, HYPER, lrs, 0.05);
    const errs = [
      expectClose(got.p, want.p, paramTolerance(lrs, ADAMW_RTOL_VS_F32), 'param'),
      expectClose(got.m, want.m, momentTolerance(grads), 'm'),
      expectClose(got.v, want.v, VS_F32, 'v'),
    ];
    let same = 0;
    for (let i = 0; i < got.p.length; i++) if (got.p[i] === want.p[i]) same++;
    console.log(`adamw n=100003 vs float32 mirror: max|err| p/m/v = ${errs.map((e) => e.toExponential(2)).join(' / ')}; ` +
      `${((100 * same) / got.p.length).toFixed(2)}% of params bitwise equal`);
  });

  it('uses torch lerp\'s other branch when 1 - beta1 >= 0.5', async () => {
    const lrs = [1e-2, 2e-2, 5e-3];
    const { got, want, grads } = await runAdamW(1001, { ...HYPER, beta1: 0.3 }, lrs, 1);
    expectClose(got.p, want.p, paramTolerance(lrs, ADAMW_RTOL_VS_F32), 'param');
    expectClose(got.m, want.m, momentTolerance(grads), 'm');
    expectClose(got.v, want.v, VS_F32, 'v');
  });

  it('shrinks weights by exactly p * f32(1 - lr * wd) when the gradient is zero (decoupled decay)', async () => {
    const { got, want } = await runAdamW(513, { ...HYPER, weightDecay: 0.1 }, [1e-2, 3e-2], 1, true);
    expectClose(got.p, want.p, { atol: 0, rtol: 0 }, 'param');
    expectClose(got.m, new Float32Array(513), { atol: 0, rtol: 0 }, 'm');
  });
});
