// CPU references for row softmax over the last dimension of an (N, V) matrix, with a scale factor
// (inverse temperature) applied to the logits first: y = softmax(scale * x).

import type { Vec } from './types';

/** y (N, V) = softmax(scale * x) row by row, subtracting each row's max first so huge logits stay finite. */
export function softmaxForward(y: Vec, x: Vec, rows: number, cols: number, scale = 1): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, scale * x[base + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.exp(scale * x[base + c] - max);
      y[base + c] = e;
      sum += e;
    }
    for (let c = 0; c < cols; c++) y[base + c] /= sum;
  }
}

/** dx (N, V) += scale * y * (dy - sum(dy * y)) per row, from the forward's output y (accumulates). */
export function softmaxBackward(dx: Vec, y: Vec, dy: Vec, rows: number, cols: number, scale = 1): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += dy[base + c] * y[base + c];
    for (let c = 0; c < cols; c++) dx[base + c] += scale * y[base + c] * (dy[base + c] - dot);
  }
}
