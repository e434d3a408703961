import { axpbyForward } from '../../ops/cpu/elementwise';
import { axpby } from '../../ops/gpu/elementwise';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { KernelCheck } from '../types';

const tolerance = { atol: 1e-6, rtol: 1e-6 };

export const elementwiseChecks: KernelCheck[] = [
  {
    name: 'residual.add_scale',
    tolerance,
    async run(ctx) {
      const rng = new Rng(11);
      const results = [];
      // 1 element, and sizes that are not multiples of the workgroup.
      for (const [n, alpha, beta] of [
        [1, 1, 1],
        [1000, 1, 1],
        [257, -0.5, 0],
      ] as const) {
        const x = rng.f32(n);
        const y = rng.f32(n);
        const xb = ctx.upload(x);
        const yb = ctx.upload(y);
        const ob = ctx.createBuffer(n * 4);
        const step = ctx.step();
        axpby(step, ob, xb, yb, n, alpha, beta);
        await step.submit();
        const got = await ctx.readF32(ob, n);
        const want = new Float64Array(n);
        axpbyForward(want, Float64Array.from(x), Float64Array.from(y), alpha, beta);
        results.push(outcome(`n=${n} alpha=${alpha} beta=${beta}`, got, want, tolerance));
        for (const b of [xb, yb, ob]) b.destroy();
      }
      return results;
    },
  },
];
