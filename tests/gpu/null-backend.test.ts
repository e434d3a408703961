import { describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { acquireGpu } from '../../src/engine/gpu/context';
import { allKernelChecks } from '../../src/engine/selftest/registry';
import { testGpu } from '../helpers/gpu';

// Dawn's null backend hands out an adapter whose device accepts every command and computes nothing.
// The checks must catch that: "no error" is never evidence that a kernel ran.
describe('a backend that computes nothing', () => {
  it('fails the kernel checks instead of passing silently', async () => {
    await testGpu(); // installs the WebGPU globals
    const ctx = await acquireGpu(create(['backend=null']));
    try {
      for (const name of ['residual.add_scale', 'matmul.forward', 'rmsnorm.forward', 'attention.forward']) {
        const check = allKernelChecks.find((c) => c.name === name);
        expect(check, name).toBeDefined();
        const outcomes = await check!.run(ctx).catch((err: Error) => [{ pass: false, detail: err.message }]);
        expect(outcomes.some((o) => !o.pass), `${name} must fail on the null backend`).toBe(true);
      }
    } finally {
      ctx.destroy();
    }
  });
});
