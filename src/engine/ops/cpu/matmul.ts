// CPU reference for the matmul kernels: a plain triple loop with the GPU dispatcher's semantics.
//   out[z] = alpha * op(A[z]) @ op(B[z]) (+ bias) (+ out[z] if accumulate) (+ residual[z]), out (m, n) row-major,
//   op(A) (m, k): A stored (m, k), or (k, m) when transA; op(B) (k, n): B stored (k, n), or (n, k) when transB.
// For B stored as f16 on the GPU, pass roundToF16(B) (src/engine/gpu/f16.ts): that is what the kernels read.
//
// A linear layer y = x @ W^T (x (T, C), W (OC, C) as PyTorch stores it, y (T, OC)) is
//   forward: matmulForward(y, x, W, { m: T, k: C, n: OC, transB: true })
// and its backward is the same product on other operands, accumulating as every backward does:
//   dx += dy @ W      matmulForward(dx, dy, W, { m: T, k: OC, n: C }, { accumulate: true })
//   dW += dy^T @ x    matmulForward(dW, dy, x, { m: OC, k: T, n: C, transA: true }, { accumulate: true })

import { itemBase, matmulLayout, type MatmulDims } from '../matmul-dims';
import type { Vec } from './types';

export type MatmulRefDims = MatmulDims;

export interface MatmulRefOptions {
  alpha?: number;
  accumulate?: boolean;
  /** (n), added to every row. */
  bias?: Vec;
  /** Laid out like out: out = alpha * op(A) op(B) + residual (the GPU's residual option). */
  residual?: Vec;
}

export function matmulForward(out: Vec, a: Vec, b: Vec, dims: MatmulRefDims, options: MatmulRefOptions = {}): void {
  const l = matmulLayout(dims);
  const { m, k, n, lda, ldb, ldc } = l;
  const alpha = options.alpha ?? 1;
  for (let z = 0; z < l.batch; z++) {
    const oa = itemBase(l, 'A', z);
    const ob = itemBase(l, 'B', z);
    const oc = itemBase(l, 'C', z);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = l.transA ? a[oa + p * lda + i] : a[oa + i * lda + p];
          const bv = l.transB ? b[ob + j * ldb + p] : b[ob + p * ldb + j];
          sum += av * bv;
        }
        let v = alpha * sum;
        if (options.bias) v += options.bias[j];
        if (options.accumulate) v += out[oc + i * ldc + j];
        if (options.residual) v += options.residual[oc + i * ldc + j];
        out[oc + i * ldc + j] = v;
      }
    }
  }
}
