// Shape classes of the matmul autotune: every product falls in one slot by integer comparisons alone
// (matmulSlot, run on every dispatch), and the tuned classes name the slots they cover and the products
// timed for them.
//
// Axes, from the products the engine runs (ops/gpu/matmul.ts callers):
// - m, the rows: m < 16 is decode (m = sequences) and short prompts; 16 <= m < 128 short batches; m >= 128
//   prefill and training (m = tokens). The default rule switches kernels at m = 16 too.
// - n < 32: LoRA's narrow products (u = x A^T, du = dy B, dB = dy^T u have n = r).
// - B f16 (base weights) or f32 (activations, LoRA parameters, --weights f32).
// - transA: weight-gradient products dW = dY^T X (LoRA's dA = du^T x with m = r, dB with m = out).
// Slots no class covers (f16 B with transA, f16 B with n < 32) keep the default rule.

export const M_DECODE_BELOW = 16;
export const M_LARGE_FROM = 128;
export const N_NARROW_BELOW = 32;
export const MATMUL_SLOTS = 24;

/** The slot of a product: ((transA * 2 + narrow) * 3 + mBucket) * 2 + f16, in 0..23. */
export function matmulSlot(m: number, n: number, f16: boolean, transA: boolean): number {
  const mBucket = m < M_DECODE_BELOW ? 0 : m < M_LARGE_FROM ? 1 : 2;
  return (((transA ? 2 : 0) + (n < N_NARROW_BELOW ? 1 : 0)) * 3 + mBucket) * 2 + (f16 ? 1 : 0);
}

/** One product timed for a class (B stored (n, k) when transB, as a Linear weight). */
export interface TunedProduct {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

/**
 * 'full': the products at SmolLM2-135M's sizes (C = 576, MLP 1536, T = 256), for adapters that run them in
 * milliseconds. 'small': software adapters (SwiftShader, lavapipe emulate the GPU on the CPU at a few
 * GFLOP/s), same m (what decides the tile and the widening) with k and n cut so the whole tune stays
 * within its budget.
 */
export type TuneProfile = 'full' | 'small';

export interface MatmulClass {
  /** Stable across versions while the class means the same products (the record's key for it). */
  readonly id: string;
  readonly label: string;
  readonly f16: boolean;
  readonly transA: boolean;
  readonly narrow: boolean;
  /** m buckets covered: 0 (m < 16), 1 (16 <= m < 128), 2 (m >= 128). */
  readonly mBuckets: readonly (0 | 1 | 2)[];
  readonly products: Readonly<Record<TuneProfile, readonly TunedProduct[]>>;
}

const linear = (m: number, k: number, n: number): TunedProduct => ({ m, k, n, transA: false, transB: true });
const backward = (m: number, k: number, n: number): TunedProduct => ({ m, k, n, transA: false, transB: false });
const gradient = (m: number, k: number, n: number): TunedProduct => ({ m, k, n, transA: true, transB: false });

/** Dense products (weights f16 or f32): forward x W^T, and in the large class also the backward dY W. */
function dense(f16: boolean): MatmulClass[] {
  const b = f16 ? 'f16' : 'f32';
  return [
    {
      id: `${b}.decode`,
      label: `m < 16, B ${b}`,
      f16,
      transA: false,
      narrow: false,
      mBuckets: [0],
      products: { full: [linear(4, 576, 1536)], small: [linear(4, 576, 1536)] },
    },
    {
      id: `${b}.mid`,
      label: `16 ≤ m < 128, B ${b}`,
      f16,
      transA: false,
      narrow: false,
      mBuckets: [1],
      products: { full: [linear(64, 576, 1536)], small: [linear(64, 576, 384)] },
    },
    {
      id: `${b}.large`,
      label: `m ≥ 128, B ${b}`,
      f16,
      transA: false,
      narrow: false,
      mBuckets: [2],
      products: {
        full: [linear(256, 576, 1536), backward(256, 1536, 576)],
        small: [linear(256, 576, 192), backward(256, 192, 576)],
      },
    },
  ];
}

export const MATMUL_CLASSES: readonly MatmulClass[] = [
  ...dense(true),
  ...dense(false),
  {
    id: 'f32.narrow.decode',
    label: 'm < 16, n < 32, B f32 (LoRA)',
    f16: false,
    transA: false,
    narrow: true,
    mBuckets: [0],
    products: { full: [linear(4, 576, 16)], small: [linear(4, 576, 16)] },
  },
  {
    id: 'f32.narrow',
    label: 'm ≥ 16, n < 32, B f32 (LoRA)',
    f16: false,
    transA: false,
    narrow: true,
    mBuckets: [1, 2],
    products: { full: [linear(256, 576, 16), backward(256, 1536, 16)], small: [linear(256, 576, 16), backward(256, 576, 16)] },
  },
  {
    id: 'f32.gradA',
    label: 'transA, m < 128, B f32 (LoRA dA)',
    f16: false,
    transA: true,
    narrow: false,
    mBuckets: [0, 1],
    products: { full: [gradient(16, 256, 576), gradient(16, 256, 1536)], small: [gradient(16, 256, 576)] },
  },
  {
    id: 'f32.gradB',
    label: 'transA, m ≥ 128, n < 32, B f32 (LoRA dB)',
    f16: false,
    transA: true,
    narrow: true,
    mBuckets: [2],
    products: { full: [gradient(576, 256, 16), gradient(1536, 256, 16)], small: [gradient(576, 256, 16)] },
  },
];

/** The slots a class covers. */
export function classSlots(c: MatmulClass): number[] {
  return c.mBuckets.map((mb) => (((c.transA ? 2 : 0) + (c.narrow ? 1 : 0)) * 3 + mb) * 2 + (c.f16 ? 1 : 0));
}

export function productFlops(products: readonly TunedProduct[]): number {
  return products.reduce((sum, p) => sum + 2 * p.m * p.k * p.n, 0);
}
