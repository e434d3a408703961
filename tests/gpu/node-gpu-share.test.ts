// shareOneNodeGpu: after it, every acquireNodeGpu() in the process answers with one context; a command's
// destroy() leaves its device computing (only pooled buffers and the matmul tuning go), and a lost device is
// replaced at the next acquire. Before it, each acquire has its own device.

import { describe, expect, it } from 'vitest';
import { activateMatmulTuning } from '../../src/engine/ops/gpu/matmul-tuning';
import { acquireNodeGpu, shareOneNodeGpu } from '../../src/node/node-gpu';
import { testTuning } from '../helpers/matmul-gpu';

describe('one dawn.node device shared by the commands of a process', () => {
  it('each acquire has its own device until sharing starts; then one device outlives destroy() until it is lost', async () => {
    const own = await acquireNodeGpu();
    const other = await acquireNodeGpu();
    expect(other).not.toBe(own);
    own.destroy();
    other.destroy();
    expect(await own.lost).toMatchObject({ reason: 'destroyed' });

    shareOneNodeGpu();
    const first = await acquireNodeGpu();
    expect(await acquireNodeGpu()).toBe(first);
    const pooled = first.pool.acquire(4096, first.storageUsage, 'pooled');
    first.pool.release(pooled);
    activateMatmulTuning(first, testTuning(first, []));
    expect(first.matmulTuning).toBeDefined();
    first.destroy();
    expect(first.pool.stats().pooledBytes).toBe(0);
    expect(first.matmulTuning).toBeUndefined();

    // The next command gets the same device, and it still computes.
    const second = await acquireNodeGpu();
    expect(second).toBe(first);
    const data = new Float32Array([1, 2, 3, 4]);
    const buffer = second.upload(data, 'after destroy');
    expect([...(await second.readF32(buffer, 4))]).toEqual([1, 2, 3, 4]);
    buffer.destroy();

    // Lost (here: destroyed for real), it is replaced.
    second.device.destroy();
    await second.lost;
    expect(second.isLost).toBe(true);
    const third = await acquireNodeGpu();
    expect(third).not.toBe(second);
    expect(await acquireNodeGpu()).toBe(third);
    const again = third.upload(data, 'new device');
    expect([...(await third.readF32(again, 4))]).toEqual([1, 2, 3, 4]);
  });
});
