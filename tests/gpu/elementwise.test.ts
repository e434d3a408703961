import { describe, it } from 'vitest';
import { elementwiseChecks } from '../../src/engine/selftest/checks/elementwise';
import { axpbyForward } from '../../src/engine/ops/cpu/elementwise';
import { axpby } from '../../src/engine/ops/gpu/elementwise';
import { Rng } from '../../src/engine/util/rng';
import { expectClose, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

describe('elementwise kernels on WebGPU', () => {
  for (const check of elementwiseChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }

  it('folds grids larger than 65535 workgroups into two dimensions', async () => {
    const ctx = await testGpu();
    const n = 65535 * 256 + 300; // needs 65537 workgroups of 256
    const x = new Rng(5).f32(n);
    const xb = ctx.upload(x);
    const ob = ctx.createBuffer(n * 4);
    const step = ctx.step();
    axpby(step, ob, xb, xb, n, 2, 0);
    await step.submit();
    const got = await ctx.readF32(ob, n);
    const want = new Float64Array(n);
    axpbyForward(want, x, x, 2, 0);
    expectClose(got, want, { atol: 0, rtol: 0 }, 'scale by 2 (exact)');
    xb.destroy();
    ob.destroy();
  });
});
