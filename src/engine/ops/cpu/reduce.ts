// CPU references for reductions. They accumulate in float64 (JS numbers), so they are the "exact" side of
// every GPU comparison; the GPU kernels sum in f32 in a fixed tree order (see shaders/reduce.wgsl).
// These reductions feed loss means, logging and gradient norms, none of which is differentiated through,
// so there is no backward pass here.

import type { Vec } from './types';

/** sum(x[offset .. offset + n)) in float64. */
export function sumAll(x: Vec, n = x.length, offset = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[offset + i];
  return s;
}

/** sum(x[i]^2) in float64. */
export function sumOfSquares(x: Vec, n = x.length, offset = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[offset + i] * x[offset + i];
  return s;
}

/** out (N) = sum over the last dimension of x (N, C). */
export function rowSum(out: Vec, x: Vec, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    out[r] = s;
  }
}

/** out (N) = mean over the last dimension of x (N, C). */
export function rowMean(out: Vec, x: Vec, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    out[r] = s / cols;
  }
}

/** out (N) = max over the last dimension of x (N, C); C >= 1. */
export function rowMax(out: Vec, x: Vec, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let m = x[r * cols];
    for (let c = 1; c < cols; c++) m = Math.max(m, x[r * cols + c]);
    out[r] = m;
  }
}
