import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { StepEncoder } from '../../src/engine/gpu/step-encoder';
import { rowMax, rowMean, rowSum, sumAll, sumOfSquares } from '../../src/engine/ops/cpu/reduce';
import { rowWorkgroupSize, sum, sumChunkCount, sumDepth } from '../../src/engine/ops/gpu/reduce';

describe('reductions (CPU reference)', () => {
  it('sums all elements, or a range of them', () => {
    const x = Float64Array.of(1, 2, 3, 4);
    expect(sumAll(x)).toBe(10);
    expect(sumAll(x, 2, 1)).toBe(5); // x[1] + x[2]
    expect(sumOfSquares(Float64Array.of(3, -4))).toBe(25);
    expect(sumOfSquares(x, 2, 2)).toBe(25); // 3^2 + 4^2
  });

  it('reduces rows of (N, C) by sum, mean and max', () => {
    // rows: [1, 2, 3], [-4, 5, -6], [-3, -1, -2] (all negative: max must not start from 0)
    const x = Float64Array.of(1, 2, 3, -4, 5, -6, -3, -1, -2);
    const out = new Float64Array(3);
    rowSum(out, x, 3, 3);
    expect([...out]).toEqual([6, -5, -6]);
    rowMean(out, x, 3, 3);
    expect([...out]).toEqual([2, -5 / 3, -2]);
    rowMax(out, x, 3, 3);
    expect([...out]).toEqual([3, 5, -1]);
  });

  it('reduces rows of one column to the column itself', () => {
    const x = Float64Array.of(7, -2);
    const out = new Float64Array(2);
    for (const f of [rowSum, rowMean, rowMax]) {
      f(out, x, 2, 1);
      expect([...out]).toEqual([7, -2]);
    }
  });
});

/** Just enough of a GpuContext for StepEncoder to record (not submit) dispatches. */
function recordingContext(): GpuContext {
  const limits = { maxComputeWorkgroupsPerDimension: 65535, minUniformBufferOffsetAlignment: 256 };
  const pool = { acquire: (bytes: number) => ({ size: bytes }) as unknown as GPUBuffer };
  return { limits, pool, storageUsage: 0 } as unknown as GpuContext;
}

describe('sum dispatch plan', () => {
  it('counts partials per pass', () => {
    // Chunks of 256 invocations x 32 elements.
    expect(sumChunkCount(1)).toBe(1);
    expect(sumChunkCount(8192)).toBe(1);
    expect(sumChunkCount(8193)).toBe(2);
    expect(sumChunkCount(1e8)).toBe(12208); // 1e8 / 8192 = 12207.03
    expect(sumChunkCount(1000, 1)).toBe(4);
  });

  it('chains passes until one value is left (n = 1e8: 12208 -> 2 -> 1)', () => {
    const step = new StepEncoder(recordingContext());
    sum(step, {} as GPUBuffer, {} as GPUBuffer, 1e8);
    expect(step.dispatchCount).toBe(3);
    const single = new StepEncoder(recordingContext());
    sum(single, {} as GPUBuffer, {} as GPUBuffer, 8192);
    expect(single.dispatchCount).toBe(1);
    const small = new StepEncoder(recordingContext());
    sum(small, {} as GPUBuffer, {} as GPUBuffer, 70_000, { perThread: 1 }); // 274 -> 2 -> 1
    expect(small.dispatchCount).toBe(3);
  });

  it('states the longest rounding chain of the tree', () => {
    expect(sumDepth(1)).toBe(1 + 8); // one add, 8 tree levels of 256
    expect(sumDepth(8192)).toBe(32 + 8);
    expect(sumDepth(8193)).toBe(32 + 8 + (1 + 8)); // second pass over 2 partials
    expect(sumDepth(1e8)).toBe(32 + 8 + (32 + 8) + (1 + 8));
    expect(sumDepth(70_000, 1)).toBe(3 * (1 + 8));
  });

  it('rejects empty sums', () => {
    const step = new StepEncoder(recordingContext());
    expect(() => sum(step, {} as GPUBuffer, {} as GPUBuffer, 0)).toThrow(RangeError);
  });

  it('sizes row workgroups to about four columns per invocation', () => {
    expect(rowWorkgroupSize(33)).toBe(32);
    expect(rowWorkgroupSize(1000)).toBe(256);
    expect(rowWorkgroupSize(200)).toBe(64);
    expect(rowWorkgroupSize(150_000)).toBe(256);
  });
});
