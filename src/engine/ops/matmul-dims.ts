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
  /**
   * Stored row lengths (defaults: contiguous rows, e.g. lda = k for A stored (m, k)); larger values read or
   * write the columns of a wider matrix, e.g. q's columns of a fused (T, Q + 2K) qkv projection.
   */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /**
   * Two-level batches: item z is (zo, zi) = (z / inner, z % inner), and X's item starts at
   * offsetX + zo * outerX + floor(zi / groupX) * strideX. Defaults: inner = batch, outer 0, group 1 (plain
   * z * strideX). Attention's (sequence, head) items use it: K is shared by groupB = Hq / Hkv query heads.
   */
  inner?: number;
  outerA?: number;
  outerB?: number;
  outerC?: number;
  groupA?: number;
  groupB?: number;
  groupC?: number;
}

/** Every field of MatmulDims with its default filled in. */
export interface MatmulLayout {
  m: number;
  k: number;
  n: number;
  batch: number;
  transA: boolean;
  transB: boolean;
  strideA: number;
  strideB: number;
  strideC: number;
  offsetA: number;
  offsetB: number;
  offsetC: number;
  lda: number;
  ldb: number;
  ldc: number;
  inner: number;
  outerA: number;
  outerB: number;
  outerC: number;
  groupA: number;
  groupB: number;
  groupC: number;
}

export function matmulLayout(d: MatmulDims): MatmulLayout {
  const batch = d.batch ?? 1;
  const transA = Boolean(d.transA);
  const transB = Boolean(d.transB);
  const lda = d.lda ?? (transA ? d.m : d.k);
  const ldb = d.ldb ?? (transB ? d.k : d.n);
  const ldc = d.ldc ?? d.n;
  return {
    m: d.m,
    k: d.k,
    n: d.n,
    batch,
    transA,
    transB,
    strideA: d.strideA ?? storedExtent(transA ? d.k : d.m, transA ? d.m : d.k, lda),
    strideB: d.strideB ?? storedExtent(transB ? d.n : d.k, transB ? d.k : d.n, ldb),
    strideC: d.strideC ?? storedExtent(d.m, d.n, ldc),
    offsetA: d.offsetA ?? 0,
    offsetB: d.offsetB ?? 0,
    offsetC: d.offsetC ?? 0,
    lda,
    ldb,
    ldc,
    inner: d.inner ?? Math.max(1, batch),
    outerA: d.outerA ?? 0,
    outerB: d.outerB ?? 0,
    outerC: d.outerC ?? 0,
    groupA: d.groupA ?? 1,
    groupB: d.groupB ?? 1,
    groupC: d.groupC ?? 1,
  };
}

/** Elements spanned by `rows` stored rows of `cols` values, `ld` apart (0 when empty). */
function storedExtent(rows: number, cols: number, ld: number): number {
  return rows > 0 && cols > 0 ? (rows - 1) * ld + cols : 0;
}

type Operand = 'A' | 'B' | 'C';

/** An operand's (offset, outer stride, group, stride), read without building property names. */
function operandAddressing(l: MatmulLayout, operand: Operand): [number, number, number, number] {
  if (operand === 'A') return [l.offsetA, l.outerA, l.groupA, l.strideA];
  if (operand === 'B') return [l.offsetB, l.outerB, l.groupB, l.strideB];
  return [l.offsetC, l.outerC, l.groupC, l.strideC];
}

/** Where batch item z of an operand starts (offset, outer stride, group, stride as in MatmulDims). */
export function itemBase(l: MatmulLayout, operand: Operand, z: number): number {
  const [offset, outer, group, stride] = operandAddressing(l, operand);
  return offset + Math.floor(z / l.inner) * outer + Math.floor((z % l.inner) / group) * stride;
}

/** The largest item base of an operand over the batch (bases grow with zo and zi). */
export function lastItemBase(l: MatmulLayout, operand: Operand): number {
  const [offset, outer, group, stride] = operandAddressing(l, operand);
  if (l.batch <= 1) return offset;
  const zoMax = Math.floor((l.batch - 1) / l.inner);
  const ziMax = Math.min(l.inner, l.batch) - 1;
  return offset + zoMax * outer + Math.floor(ziMax / group) * stride;
}

/** Elements one item of each operand spans from its base: (rows - 1) * ld + cols of its storage. */
export function itemExtent(l: MatmulLayout, operand: Operand): number {
  if (operand === 'A') return storedExtent(l.transA ? l.k : l.m, l.transA ? l.m : l.k, l.lda);
  if (operand === 'B') return storedExtent(l.transB ? l.n : l.k, l.transB ? l.k : l.n, l.ldb);
  return storedExtent(l.m, l.n, l.ldc);
}
