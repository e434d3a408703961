// Reductions vs float64. Sums are judged by the tree's worst-case bound: |error| <= depth * 2^-24 * sum|x|
// (depth = the longest chain of f32 roundings any element passes through, from the kernel's fixed order),
// so each outcome compares values divided by sum|x| with atol = depth * 2^-24. Sums of squares have only
// non-negative terms: relative error <= depth * 2^-24. Max is exact.

import type { GpuContext } from '../../gpu/context';
import { rowMax, rowMean, rowSum, sumAll, sumOfSquares as sumOfSquaresCpu } from '../../ops/cpu/reduce';
import { rowReduce, rowWorkgroupSize, sum, sumDepth, ROW_SERIAL_MAX_COLS, type RowOp, type SumOptions } from '../../ops/gpu/reduce';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

const U = 2 ** -24;

/** Runs the GPU sum of x (whole array) and reads back the single result. */
async function gpuSum(ctx: GpuContext, x: Float32Array, options: SumOptions): Promise<number> {
  const xb = ctx.upload(x);
  const ob = ctx.createBuffer(4);
  const step = ctx.step();
  sum(step, ob, xb, x.length, options);
  await step.submit();
  const [got] = await ctx.readF32(ob, 1);
  xb.destroy();
  ob.destroy();
  return got;
}

function l1(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += Math.abs(x[i]);
  return s;
}

/** Longest rounding chain of one row in rowReduce's default variant (plus one for mean's division). */
function rowDepth(cols: number): number {
  if (cols <= ROW_SERIAL_MAX_COLS) return cols;
  const wg = rowWorkgroupSize(cols);
  return Math.ceil(cols / wg) + Math.log2(wg) + 1;
}

async function rowCase(ctx: GpuContext, rng: Rng, rows: number, cols: number, op: RowOp): Promise<CheckOutcome> {
  const x = rng.f32(rows * cols, -1, 1.5);
  const xb = ctx.upload(x);
  const ob = ctx.createBuffer(rows * 4);
  const step = ctx.step();
  rowReduce(step, ob, xb, rows, cols, op);
  await step.submit();
  const got = await ctx.readF32(ob, rows);
  xb.destroy();
  ob.destroy();
  const want = new Float64Array(rows);
  const label = `${op} (${rows}, ${cols})`;
  if (op === 'max') {
    rowMax(want, x, rows, cols);
    return outcome(label, got, want, { atol: 0, rtol: 0 });
  }
  (op === 'sum' ? rowSum : rowMean)(want, x, rows, cols);
  // Normalize each row by its own error scale: sum|x| (sum) or sum|x| / C (mean).
  const scale = (r: number) => l1(x, r * cols, (r + 1) * cols) / (op === 'mean' ? cols : 1);
  const normGot = Array.from(got, (g, r) => g / scale(r));
  const normWant = Array.from(want, (w, r) => w / scale(r));
  return outcome(`${label} / row sum|x|`, normGot, normWant, { atol: rowDepth(cols) * U, rtol: 0 });
}

export const reduceChecks: KernelCheck[] = [
  {
    name: 'reduce.sum',
    // Representative: n = 70001 (two passes); each case states its own bound.
    tolerance: { atol: (sumDepth(70001) + 1) * U, rtol: 0 },
    async run(ctx) {
      const rng = new Rng(21);
      const results: CheckOutcome[] = [];
      for (const n of [1, 1000, 4097, 70001]) {
        const x = rng.f32(n, -1, 1.25);
        const got = await gpuSum(ctx, x, {});
        const scale = l1(x);
        const tol = { atol: sumDepth(n) * U, rtol: 0 };
        results.push(outcome(`sum n=${n} / sum|x|`, [got / scale], [sumAll(x) / scale], tol));
      }
      const n = 70001;
      const x = rng.f32(n, -1, 1.25);
      const got = await gpuSum(ctx, x, { mean: true });
      const scale = l1(x) / n;
      const tol = { atol: (sumDepth(n) + 2) * U, rtol: 0 }; // + the division and f32(n)
      results.push(outcome(`mean n=${n} / mean|x|`, [got / scale], [sumAll(x) / n / scale], tol));
      return results;
    },
  },
  {
    name: 'reduce.sum_of_squares',
    tolerance: { atol: 0, rtol: (sumDepth(70001) + 1) * U },
    async run(ctx) {
      const rng = new Rng(22);
      const results: CheckOutcome[] = [];
      for (const n of [1, 4096, 70001]) {
        const x = rng.normals(n, 0.3);
        const got = await gpuSum(ctx, x, { square: true });
        const tol = { atol: 0, rtol: (sumDepth(n) + 1) * U }; // + the rounding of each square
        results.push(outcome(`sum x^2 n=${n}`, [got], [sumOfSquaresCpu(x)], tol));
      }
      return results;
    },
  },
  {
    name: 'reduce.rows',
    tolerance: { atol: rowDepth(5000) * U, rtol: 0 },
    async run(ctx) {
      const rng = new Rng(23);
      const results: CheckOutcome[] = [];
      // C = 1, short rows (serial variant), long rows (workgroup variant, C not a multiple of WG).
      for (const [rows, cols] of [
        [1, 1],
        [7, 1],
        [3, 7],
        [5, 33],
        [4, 1000],
        [2, 5000],
      ] as const) {
        for (const op of ['sum', 'mean', 'max'] as const) results.push(await rowCase(ctx, rng, rows, cols, op));
      }
      return results;
    },
  },
];
