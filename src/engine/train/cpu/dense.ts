// The three float64 matrix products of a linear layer's forward and backward, as plain row-major loops
// whose inner loop runs over contiguous memory (several times faster than the general matmul reference,
// which matters for finite differences: hundreds of forward passes per gradient check).
// All ACCUMULATE into `out` (out += alpha * ...); offsets count elements.

import type { Vec } from '../../ops/cpu/types';

/** out (m, n) += alpha * a (m, k) @ b^T, with b stored (n, k) from element offsetB: y = x W^T. */
export function addMatmulTransB(out: Float64Array, a: Vec, b: Vec, m: number, k: number, n: number, alpha = 1, offsetB = 0): void {
  for (let i = 0; i < m; i++) {
    const ai = i * k;
    for (let j = 0; j < n; j++) {
      const bj = offsetB + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
      out[i * n + j] += alpha * s;
    }
  }
}

/** out (m, n) += alpha * a (m, k) @ b, with b stored (k, n) from element offsetB: dx = dy W. */
export function addMatmul(out: Float64Array, a: Vec, b: Vec, m: number, k: number, n: number, alpha = 1, offsetB = 0): void {
  for (let i = 0; i < m; i++) {
    const oi = i * n;
    for (let p = 0; p < k; p++) {
      const s = alpha * a[i * k + p];
      if (s === 0) continue;
      const bp = offsetB + p * n;
      for (let j = 0; j < n; j++) out[oi + j] += s * b[bp + j];
    }
  }
}

/** out (m, n) from element offsetOut += alpha * a^T @ b, with a stored (k, m) and b (k, n): dW = dy^T x. */
export function addMatmulTransA(out: Float64Array, a: Vec, b: Vec, m: number, k: number, n: number, alpha = 1, offsetOut = 0): void {
  for (let p = 0; p < k; p++) {
    const bp = p * n;
    for (let i = 0; i < m; i++) {
      const s = alpha * a[p * m + i];
      if (s === 0) continue;
      const oi = offsetOut + i * n;
      for (let j = 0; j < n; j++) out[oi + j] += s * b[bp + j];
    }
  }
}
