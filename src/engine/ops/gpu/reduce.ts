import sumSource from '../../../../shaders/reduce.wgsl?raw';
import rowSource from '../../../../shaders/reduce_rows.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';

const SUM_WG = 256;
/**
 * Elements each invocation adds before the tree. 32 read 1e8 floats about 20% faster than 16 on an
 * H100 (dawn/Vulkan); 64 gained little more while doubling the sequential rounding chain.
 */
const SUM_PER_THREAD = 32;
/** Elements one workgroup of a sum pass reduces to one partial (with the default perThread). */
export const SUM_CHUNK = SUM_WG * SUM_PER_THREAD;

const SUM_CHUNKS = defineKernel('reduce.sum_chunks', sumSource, 'sum_chunks', ['read', 'write', 'uniform']);
const ROW_REDUCE = defineKernel('reduce.rows', rowSource, 'row_reduce', ['read', 'write', 'uniform']);
const ROW_REDUCE_SERIAL = defineKernel('reduce.rows_serial', rowSource, 'row_reduce_serial', ['read', 'write', 'uniform']);

function assertCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be an integer >= 1, got ${n}`);
}

/** Partials one sum pass writes for n elements. */
export function sumChunkCount(n: number, perThread = SUM_PER_THREAD): number {
  return ceilDiv(n, SUM_WG * perThread);
}

/**
 * The longest chain of f32 additions any element passes through in `sum` over n elements (sequential
 * adds per invocation plus tree levels, over all passes). |error| <= depth * 2^-24 * sum|x| (first
 * order), and for non-negative terms (sum of squares) the relative error is at most that.
 */
export function sumDepth(n: number, perThread = SUM_PER_THREAD): number {
  const treeLevels = Math.log2(SUM_WG);
  let depth = 0;
  for (let len = n; ; len = sumChunkCount(len, perThread)) {
    depth += Math.min(perThread, ceilDiv(len, SUM_WG)) + treeLevels;
    if (sumChunkCount(len, perThread) === 1) return depth;
  }
}

export interface SumChunksOptions {
  /** Sum x^2 instead of x. */
  square?: boolean;
  /** Element offsets into x and out. */
  inOffset?: number;
  outOffset?: number;
  /** The partials are divided by this (1 = untouched). */
  divisor?: number;
  /** Tunable: elements per invocation (chunk = 256 * perThread). Default SUM_PER_THREAD. */
  perThread?: number;
}

/**
 * One pass: out[outOffset + w] = sum of x (or x^2) over chunk w of 256 * perThread elements, / divisor.
 * Returns the number of partials written, sumChunkCount(n). Building block of `sum` and the grad norm.
 */
export function sumChunks(step: StepEncoder, out: Binding, x: Binding, n: number, options: SumChunksOptions = {}): number {
  assertCount('sum length', n);
  const perThread = options.perThread ?? SUM_PER_THREAD;
  assertCount('perThread', perThread);
  const count = sumChunkCount(n, perThread);
  const params = packParams([
    ['u32', n],
    ['u32', options.inOffset ?? 0],
    ['u32', options.outOffset ?? 0],
    ['f32', options.divisor ?? 1],
  ]);
  const constants = { WG: SUM_WG, PER_THREAD: perThread, SQUARE: options.square ? 1 : 0 };
  step.dispatch(SUM_CHUNKS, [x, out], grid1d(count), params, constants);
  return count;
}

export interface SumOptions {
  /** Sum x^2 instead of x. */
  square?: boolean;
  /** Divide the sum by f32(n). */
  mean?: boolean;
  inOffset?: number;
  /** out[outOffset] receives the result. */
  outOffset?: number;
  /** Tunable, see SumChunksOptions.perThread (tests use a small one to get many passes cheaply). */
  perThread?: number;
}

/**
 * out[outOffset] = sum (or mean, or sum of squares) of x[inOffset .. inOffset + n), in f32 over a fixed
 * tree: passes of SUM_CHUNK-to-1 partial sums (scratch from step.temp) until one value is left.
 * Deterministic; error bound in `sumDepth`.
 */
export function sum(step: StepEncoder, out: Binding, x: Binding, n: number, options: SumOptions = {}): void {
  assertCount('sum length', n);
  const { square, inOffset, perThread } = options;
  const divisor = options.mean ? n : 1;
  const outOffset = options.outOffset ?? 0;
  let count = sumChunkCount(n, perThread);
  if (count === 1) {
    sumChunks(step, out, x, n, { square, inOffset, outOffset, divisor, perThread });
    return;
  }
  let partials: Binding = step.temp(count * 4, 'reduce.partials');
  sumChunks(step, partials, x, n, { square, inOffset, perThread });
  for (;;) {
    const len = count;
    count = sumChunkCount(len, perThread);
    if (count === 1) {
      sumChunks(step, out, partials, len, { outOffset, divisor, perThread });
      return;
    }
    const next = step.temp(count * 4, 'reduce.partials');
    sumChunks(step, next, partials, len, { perThread });
    partials = next;
  }
}

type PlainSumOptions = Omit<SumOptions, 'square' | 'mean'>;

export function sumOfSquares(step: StepEncoder, out: Binding, x: Binding, n: number, options: PlainSumOptions = {}): void {
  sum(step, out, x, n, { ...options, square: true });
}

export function mean(step: StepEncoder, out: Binding, x: Binding, n: number, options: PlainSumOptions = {}): void {
  sum(step, out, x, n, { ...options, mean: true });
}

export type RowOp = 'sum' | 'mean' | 'max';
/** 'workgroup': one workgroup per row (long rows); 'serial': one invocation per row (short rows). */
export type RowReduceVariant = 'workgroup' | 'serial';

export interface RowReduceOptions {
  inOffset?: number;
  outOffset?: number;
  /** Default: 'serial' for rows of at most ROW_SERIAL_MAX_COLS columns, else 'workgroup'. */
  variant?: RowReduceVariant;
}

const ROW_OPS: Record<RowOp, number> = { sum: 0, mean: 1, max: 2 };
/** Short rows go one per invocation: no barriers, and a workgroup per row would idle most lanes. */
export const ROW_SERIAL_MAX_COLS = 32;
const ROW_SERIAL_WG = 64;

/** Workgroup size for one-workgroup-per-row: about 4 columns per invocation, 32 to 256 invocations. */
export function rowWorkgroupSize(cols: number): number {
  const want = 2 ** Math.ceil(Math.log2(ceilDiv(cols, 4)));
  return Math.min(256, Math.max(32, want));
}

/**
 * out[outOffset + r] = op over the last dimension of x (rows, cols), for r < rows. Sums are f32 in a
 * fixed order (per-invocation sequential, then a tree; or left to right in the serial variant); mean
 * divides by f32(cols); max is exact.
 */
export function rowReduce(
  step: StepEncoder,
  out: Binding,
  x: Binding,
  rows: number,
  cols: number,
  op: RowOp,
  options: RowReduceOptions = {},
): void {
  assertCount('rows', rows);
  assertCount('cols', cols);
  const params = packParams([
    ['u32', rows],
    ['u32', cols],
    ['u32', options.inOffset ?? 0],
    ['u32', options.outOffset ?? 0],
  ]);
  const variant = options.variant ?? (cols <= ROW_SERIAL_MAX_COLS ? 'serial' : 'workgroup');
  if (variant === 'serial') {
    const constants = { WG: ROW_SERIAL_WG, OP: ROW_OPS[op] };
    step.dispatch(ROW_REDUCE_SERIAL, [x, out], grid1d(ceilDiv(rows, ROW_SERIAL_WG)), params, constants);
  } else {
    const constants = { WG: rowWorkgroupSize(cols), OP: ROW_OPS[op] };
    step.dispatch(ROW_REDUCE, [x, out], grid1d(rows), params, constants);
  }
}

export function rowSum(
  step: StepEncoder,
  out: Binding,
  x: Binding,
  rows: number,
  cols: number,
  options?: RowReduceOptions,
): void {
  rowReduce(step, out, x, rows, cols, 'sum', options);
}

export function rowMean(
  step: StepEncoder,
  out: Binding,
  x: Binding,
  rows: number,
  cols: number,
  options?: RowReduceOptions,
): void {
  rowReduce(step, out, x, rows, cols, 'mean', options);
}

export function rowMax(
  step: StepEncoder,
  out: Binding,
  x: Binding,
  rows: number,
  cols: number,
  options?: RowReduceOptions,
): void {
  rowReduce(step, out, x, rows, cols, 'max', options);
}
