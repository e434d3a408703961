// The shape of a (batched) matrix product, shared by the CPU reference and the GPU dispatcher.
// out[b] (m, n) = op(A[b]) (m, k) @ op(B[b]) (k, n); every size and offset counts elements.

export interface MatmulDims {
  m: number;
  k: number;
  n: number;
  /** Default 1. */
  batch?: number;
  /** A stored (k, m) instead of (m, k). */
  transA?: boolean;
  /** B stored (n, k) instead of (k, n); a PyTorch Linear weight [out, in] is transB. */
  transB?: boolean;
  /** Elements between batch items (defaults: contiguous; strideB = 0 broadcasts one B over the batch). */
  strideA?: number;
  strideB?: number;
  strideC?: number;
  /** Element offsets into the buffers (for slicing, e.g. a vocabulary chunk of an LM head; even for f16). */
  offsetA?: number;
  offsetB?: number;
  offsetC?: number;
}
