import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { rowMax, rowMean, rowSum, sumAll, sumOfSquares } from '../../src/engine/ops/cpu/reduce';
import { rowReduce, sum, sumDepth, type RowOp, type RowReduceVariant, type SumOptions } from '../../src/engine/ops/gpu/reduce';
import { reduceChecks } from '../../src/engine/selftest/checks/reduce';
import { Rng } from '../../src/engine/util/rng';
import { expectClose, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

const U = 2 ** -24;

async function gpuSum(ctx: GpuContext, x: Float32Array, n: number, options: SumOptions = {}): Promise<number> {
  const xb = ctx.upload(x);
  const ob = ctx.createBuffer(4 * ((options.outOffset ?? 0) + 1));
  const step = ctx.step();
  sum(step, ob, xb, n, options);
  await step.submit();
  const [got] = await ctx.readF32(ob, 1, options.outOffset ?? 0);
  xb.destroy();
  ob.destroy();
  return got;
}

function l1(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]);
  return s;
}

describe('reduce kernels on WebGPU', () => {
  for (const check of reduceChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }

  it('sums 3e6 small integers exactly over two passes (no element lost or counted twice)', async () => {
    const ctx = await testGpu();
    const rng = new Rng(41);
    const n = 3_000_001;
    // Every partial sum stays below 2^24 in magnitude, so any order is exact in f32.
    const x = Float32Array.from({ length: n }, () => rng.int(4) - 1);
    expect(await gpuSum(ctx, x, n)).toBe(sumAll(x));
    expect(await gpuSum(ctx, x, n, { square: true })).toBe(sumOfSquares(x));
    expect(await gpuSum(ctx, x, n, { mean: true })).toBe(Math.fround(sumAll(x) / n));
  });

  it('chains three passes (small chunks) exactly and within the tree bound', async () => {
    const ctx = await testGpu();
    const rng = new Rng(45);
    // perThread 1: chunks of 256, so 70001 -> 274 -> 2 -> 1, with a pass between two scratch buffers.
    const ints = Float32Array.from({ length: 70_001 }, () => rng.int(3) - 1);
    expect(await gpuSum(ctx, ints, ints.length, { perThread: 1 }), 'integers').toBe(sumAll(ints));
    const x = rng.f32(70_001, -1, 1.2);
    const got = await gpuSum(ctx, x, x.length, { perThread: 1, mean: true });
    const scale = l1(x) / x.length;
    const tol = { atol: (sumDepth(x.length, 1) + 2) * U, rtol: 0 };
    expectClose([got / scale], [sumAll(x) / x.length / scale], tol, 'mean / mean|x|');
  });

  it('sums 3e6 random floats within the tree bound, bitwise the same twice', async () => {
    const ctx = await testGpu();
    const x = new Rng(42).f32(3_000_000, -1, 1.1);
    const first = await gpuSum(ctx, x, x.length);
    const second = await gpuSum(ctx, x, x.length);
    expect(second).toBe(first);
    const scale = l1(x);
    const err = expectClose([first / scale], [sumAll(x) / scale], { atol: sumDepth(x.length) * U, rtol: 0 }, 'sum / sum|x|');
    console.log(`sum n=3e6: |err| / sum|x| = ${err.toExponential(2)} (bound ${(sumDepth(x.length) * U).toExponential(2)})`);
  });

  it('reads at inOffset and writes only out[outOffset]', async () => {
    const ctx = await testGpu();
    const x = Float32Array.of(100, 1, 2, 3, 4, 5, 6, 7, 100);
    const xb = ctx.upload(x);
    const ob = ctx.upload(Float32Array.of(-9, -9, -9, -9));
    const step = ctx.step();
    sum(step, ob, xb, 7, { inOffset: 1, outOffset: 2 });
    sum(step, ob, xb, 1, { inOffset: 4, outOffset: 0, square: true });
    await step.submit();
    expect([...(await ctx.readF32(ob, 4))]).toEqual([16, -9, 28, -9]);
    xb.destroy();
    ob.destroy();
  });

  const reference: Record<RowOp, (out: Float64Array, x: Float32Array, rows: number, cols: number) => void> = {
    sum: rowSum,
    mean: rowMean,
    max: rowMax,
  };

  for (const variant of ['serial', 'workgroup'] as RowReduceVariant[]) {
    it(`reduces rows with the ${variant} variant at offsets, short and long rows`, async () => {
      const ctx = await testGpu();
      const rng = new Rng(43);
      for (const [rows, cols] of [
        [3, 1],
        [2, 2],
        [5, 300],
        [3, 1031],
      ]) {
        const inOffset = 3;
        const x = rng.f32(inOffset + rows * cols, -2, 1);
        const xb = ctx.upload(x);
        for (const op of ['sum', 'mean', 'max'] as RowOp[]) {
          const ob = ctx.upload(new Float32Array(rows + 2).fill(-7));
          const step = ctx.step();
          rowReduce(step, ob, xb, rows, cols, op, { inOffset, outOffset: 1, variant });
          await step.submit();
          const got = await ctx.readF32(ob, rows + 2);
          const want = new Float64Array(rows);
          const rowsOf = x.subarray(inOffset);
          reference[op](want, rowsOf, rows, cols);
          const label = `${op} (${rows}, ${cols}) ${variant}`;
          expect([got[0], got[rows + 1]], `${label}: slots around the output`).toEqual([-7, -7]);
          // Values in [-2, 1): sum|x| <= 2C; a row of C terms in any tree order has depth <= C.
          const tol = op === 'max' ? { atol: 0, rtol: 0 } : { atol: (op === 'mean' ? 2 : 2 * cols) * cols * U, rtol: 0 };
          expectClose(got.subarray(1, rows + 1), want, tol, label);
          ob.destroy();
        }
        xb.destroy();
      }
    });
  }

  it('folds more than 65535 rows into a 2-D grid', async () => {
    const ctx = await testGpu();
    const rows = 70_000;
    const cols = 3;
    const x = new Rng(44).f32(rows * cols);
    const xb = ctx.upload(x);
    const ob = ctx.createBuffer(rows * 4);
    const step = ctx.step();
    rowReduce(step, ob, xb, rows, cols, 'max', { variant: 'workgroup' }); // one workgroup per row
    await step.submit();
    const want = new Float64Array(rows);
    rowMax(want, x, rows, cols);
    expectClose(await ctx.readF32(ob, rows), want, { atol: 0, rtol: 0 }, 'row max');
    xb.destroy();
    ob.destroy();
  });
});
