// Counter-based dropout vs its CPU reference: the same key must drop exactly the same elements (the
// backward relies on recomputing the forward's mask), and the kept fraction must be near 1 - p.

import { dropoutForward, dropoutKey } from '../../ops/cpu/dropout';
import { dropout } from '../../ops/gpu/dropout';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

/** x * scale is one f32 rounding on both sides; accumulate adds a second (CPU: via float64, then f32). */
const tolerance = { atol: 0, rtol: 2 ** -23 };

export const dropoutChecks: KernelCheck[] = [
  {
    name: 'dropout.hash',
    tolerance,
    async run(ctx) {
      const rng = new Rng(23);
      const results: CheckOutcome[] = [];
      const cases = [
        { n: 1000, p: 0.1, stream: { seed: 1, step: 1, micro: 0, module: 0 }, accumulate: false },
        { n: 70001, p: 0.5, stream: { seed: 7, step: 3, micro: 1, module: 12 }, accumulate: true },
      ];
      for (const c of cases) {
        const key = dropoutKey(c.stream);
        const x = rng.f32(c.n, 0.5, 1.5); // never 0: a dropped element is told apart by its value
        const base = rng.f32(c.n);
        const xb = ctx.upload(x);
        const ob = ctx.upload(base);
        const step = ctx.step();
        dropout(step, ob, xb, c.n, { p: c.p, key, accumulate: c.accumulate });
        await step.submit();
        const got = await ctx.readF32(ob, c.n);
        const want = c.accumulate ? Float32Array.from(base) : new Float32Array(c.n);
        dropoutForward(want, x, c.p, key, c.accumulate);
        const label = `n=${c.n} p=${c.p}${c.accumulate ? ' accumulate' : ''}`;
        results.push(outcome(label, got, want, tolerance));
        // Kept fraction: within 5 standard deviations of 1 - p (the reference itself is checked here too).
        let kept = 0;
        for (let i = 0; i < c.n; i++) if ((c.accumulate ? got[i] - base[i] : got[i]) !== 0) kept++;
        const sd = Math.sqrt((c.p * (1 - c.p)) / c.n);
        results.push(outcome(`${label} kept fraction`, [kept / c.n], [1 - c.p], { atol: 5 * sd, rtol: 0 }));
        xb.destroy();
        ob.destroy();
      }
      return results;
    },
  },
];
