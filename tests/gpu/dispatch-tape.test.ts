// Steps of one length reuse the previous such step's bind groups through the dispatch tape: a repeat is
// served without the bind-group cache, and a step that binds another buffer at the same position reads it.

import { expect, it } from 'vitest';
import { axpby } from '../../src/engine/ops/gpu/elementwise';
import { testGpu } from '../helpers/gpu';

it('a repeated step takes its bind groups from the tape; a changed binding is bound anew', async () => {
  const ctx = await testGpu();
  const n = 300;
  const x1 = ctx.upload(Float32Array.from({ length: n }, (_, i) => i));
  const x2 = ctx.upload(Float32Array.from({ length: n }, (_, i) => 1000 + i));
  const y = ctx.upload(new Float32Array(n).fill(0.5));
  const mid = ctx.createBuffer(n * 4);
  const out = ctx.createBuffer(n * 4);
  const run = async (x: GPUBuffer) => {
    const step = ctx.step();
    axpby(step, mid, x, y, n, 2, 0);
    axpby(step, out, mid, y, n, 1, 1);
    await step.submit();
    return ctx.readF32(out, n);
  };
  expect((await run(x1))[7]).toBe(2 * 7 + 0.5);
  expect((await run(x2))[7]).toBe(2 * 1007 + 0.5);
  const { hits, misses } = ctx.bindGroups;
  expect((await run(x2))[299]).toBe(2 * 1299 + 0.5);
  expect([ctx.bindGroups.hits, ctx.bindGroups.misses]).toEqual([hits, misses]);
  expect((await run(x1))[299]).toBe(2 * 299 + 0.5);
  expect(ctx.bindGroups.hits).toBeGreaterThan(hits); // x1's group came back from the cache, not the tape
  for (const b of [x1, x2, y, mid, out]) b.destroy();
});
