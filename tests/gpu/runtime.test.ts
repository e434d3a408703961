import { describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { acquireGpu } from '../../src/engine/gpu/context';
import { GpuDeviceLostError, GpuValidationError } from '../../src/engine/gpu/errors';
import { defineKernel, joinWgsl } from '../../src/engine/gpu/kernel';
import { axpby, residualAdd } from '../../src/engine/ops/gpu/elementwise';
import { testGpu } from '../helpers/gpu';

describe('WebGPU runtime on a real adapter', () => {
  it('has a real adapter that computes (not a null backend)', async () => {
    const ctx = await testGpu();
    console.log(`adapter: ${ctx.adapter.description || ctx.adapter.architecture} (${ctx.adapter.vendor})`);
    expect(ctx.adapter.description.length + ctx.adapter.architecture.length).toBeGreaterThan(0);
    expect(ctx.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    const x = ctx.upload(Float32Array.of(1.5, -2, 3));
    const out = ctx.createBuffer(12);
    const step = ctx.step();
    residualAdd(step, out, x, x, 3);
    await step.submit();
    expect([...(await ctx.readF32(out, 3))]).toEqual([3, -4, 6]);
    x.destroy();
    out.destroy();
  });

  it('records many dispatches and a readback into exactly one queue submit', async () => {
    const ctx = await testGpu();
    const a = ctx.upload(Float32Array.of(1, 2, 3, 4));
    const b = ctx.createBuffer(16);
    const submit = ctx.device.queue.submit.bind(ctx.device.queue);
    let submits = 0;
    ctx.device.queue.submit = (cbs: Iterable<GPUCommandBuffer>) => {
      submits++;
      submit(cbs);
    };
    try {
      const step = ctx.step();
      // b = 2a, then a = a + b three times in a row: each dispatch sees the previous one's writes.
      axpby(step, b, a, a, 4, 2, 0);
      for (let i = 0; i < 3; i++) {
        const t = step.temp(16);
        residualAdd(step, t, a, b, 4);
        step.copy(t, 0, a, 0, 16);
      }
      const rb = step.read(a, 0, 16);
      expect(step.dispatchCount).toBe(4);
      await step.submit();
      expect([...new Float32Array(await rb.data())]).toEqual([7, 14, 21, 28]);
    } finally {
      ctx.device.queue.submit = submit;
    }
    expect(submits).toBe(1);
    a.destroy();
    b.destroy();
  });

  it('reuses pooled buffers and compiled pipelines across steps', async () => {
    const ctx = await testGpu();
    const x = ctx.upload(new Float32Array(1000).fill(1));
    const run = async () => {
      const step = ctx.step();
      const t = step.temp(4000);
      residualAdd(step, t, x, x, 1000);
      const rb = step.read(t);
      await step.submit();
      return { t, data: new Float32Array(await rb.data()) };
    };
    const first = await run();
    const pipelines = ctx.pipelines.size;
    const second = await run();
    expect(second.t).toBe(first.t);
    expect(ctx.pipelines.size).toBe(pipelines);
    expect(second.data[999]).toBe(2);
    x.destroy();
  });

  it('turns a WGSL compile error into a GpuValidationError naming the kernel and line', async () => {
    const ctx = await testGpu();
    const broken = defineKernel('test.broken', '@compute @workgroup_size(1) fn main() { let x: f32 = undefined_name; }', 'main', []);
    const step = ctx.step();
    step.dispatch(broken, [], [1, 1, 1]);
    const err = await step.submit().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GpuValidationError);
    expect(String((err as Error).message)).toMatch(/test\.broken/);
    expect(String((err as Error).message)).toMatch(/test\.broken\.wgsl:1:/);
    // A second attempt fails the same way instead of hanging or succeeding.
    const again = ctx.step();
    again.dispatch(broken, [], [1, 1, 1]);
    await expect(again.submit()).rejects.toThrow(/test\.broken\.wgsl:1:/);
  });

  it('points a compile error in a joined kernel at the file and line it came from', async () => {
    const ctx = await testGpu();
    const joined = joinWgsl(
      { file: 'test_shared.wgsl', source: 'fn helper() -> f32 {\n  return 1.0;\n}' },
      { file: 'test_kernel.wgsl', source: '@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = helper() + missing_name;\n}' },
    );
    const step = ctx.step();
    step.dispatch(defineKernel('test.joined_broken', joined, 'main', []), [], [1, 1, 1]);
    await expect(step.submit()).rejects.toThrow(/test_kernel\.wgsl:3:/);
  });

  it('reports a bad binding as a typed validation error instead of failing silently', async () => {
    const ctx = await testGpu();
    const x = ctx.upload(new Float32Array(4));
    const step = ctx.step();
    // out aliases an input with a writable binding in the same dispatch: WebGPU must reject it.
    axpby(step, x, x, x, 4, 1, 1);
    await expect(step.submit()).rejects.toBeInstanceOf(GpuValidationError);
    x.destroy();
  });

  it('turns a lost device into a GpuDeviceLostError that later steps throw', async () => {
    await testGpu(); // installs the WebGPU globals
    const ctx = await acquireGpu(create([]));
    ctx.destroy();
    const lost = await ctx.lost;
    expect(lost).toBeInstanceOf(GpuDeviceLostError);
    expect(lost.message).toMatch(/resume from the last checkpoint/);
    expect(() => ctx.step()).toThrow(GpuDeviceLostError);
  });
});
