// ctx.memory counts every GPU buffer the context makes (createBuffer, upload, the pool, readback staging, the
// uniform arena) from its creation to its destroy(), once, and keeps the peak since resetPeak().

import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/engine/gpu/buffer-pool';
import { testGpu } from '../helpers/gpu';

describe('ctx.memory', () => {
  it('counts createBuffer and upload at their allocated size until destroy(), once', async () => {
    const ctx = await testGpu();
    const held = ctx.memory.heldBytes;
    ctx.memory.resetPeak();
    expect(ctx.memory.peakBytes).toBe(held);
    const a = ctx.createBuffer(100, 'a'); // rounded to 16 bytes
    const b = ctx.upload(new Float32Array(1000), 'b');
    expect(ctx.memory.heldBytes - held).toBe(112 + 4000);
    a.destroy();
    a.destroy(); // a second destroy frees nothing more
    expect(ctx.memory.heldBytes - held).toBe(4000);
    expect(ctx.memory.peakBytes - held).toBe(4112);
    b.destroy();
    expect(ctx.memory.heldBytes).toBe(held);
    ctx.memory.resetPeak();
    expect(ctx.memory.peakBytes).toBe(held);
  });

  it('counts pooled buffers from their first acquire to trim(), reuse adding nothing', async () => {
    const ctx = await testGpu();
    ctx.pool.trim();
    const held = ctx.memory.heldBytes;
    const x = ctx.pool.acquire(1000, ctx.storageUsage, 'x');
    expect(ctx.memory.heldBytes - held).toBe(BufferPool.roundSize(1000));
    ctx.pool.release(x);
    expect(ctx.memory.heldBytes - held).toBe(1024); // a free pooled buffer is still held by the device
    expect(ctx.pool.acquire(1000, ctx.storageUsage, 'x again')).toBe(x);
    expect(ctx.memory.heldBytes - held).toBe(1024);
    ctx.pool.release(x);
    ctx.pool.trim();
    expect(ctx.memory.heldBytes).toBe(held);
  });

  it("counts a step's temporaries, readback staging and the uniform arena", async () => {
    const ctx = await testGpu();
    ctx.pool.trim();
    const src = ctx.upload(new Float32Array(64), 'src');
    const arena = ctx.uniforms.buffer(1).size; // at least 64 KiB: made now if no step made it yet
    const held = ctx.memory.heldBytes;
    ctx.memory.resetPeak();
    const step = ctx.step();
    step.temp(3000, 'temp');
    step.shared('key', 2000);
    step.shared('key', 1500); // fits the first: no new buffer
    const rb = step.read(src, 0, 256);
    step.clear(src);
    await step.submit();
    await rb.data();
    expect(ctx.memory.heldBytes - held).toBe(3072 + 2048 + 256); // back in the pool, still held
    // A step whose parameter blocks need a larger arena replaces it: the old one is destroyed.
    const grown = ctx.uniforms.buffer(arena * 2 + 1);
    expect(grown.size).toBe(arena * 4);
    expect(ctx.memory.heldBytes - held).toBe(3072 + 2048 + 256 + arena * 3);
    ctx.pool.trim();
    src.destroy();
  });
});
