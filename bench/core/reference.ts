// Inputs for the matmul benchmark and a sampled check of the products against a float64 CPU reference.
// The same seed gives the same matrices to our kernels and to the peer.

import { Rng } from '../../src/engine/util/rng';

/**
 * A (m, k) uniform in [-1, 1) and B (n, k) (a PyTorch weight, used transposed) with values on a 1/1024
 * grid in [-1, 1], which f16 holds exactly: the f32 and packed-f16 rows multiply the same numbers and
 * share one reference.
 */
export function makeMatrices(m: number, k: number, n: number, seed: number): { a: Float32Array; b: Float32Array } {
  const rng = new Rng(seed);
  const a = rng.f32(m * k);
  const b = new Float32Array(n * k);
  for (let i = 0; i < b.length; i++) b[i] = Math.round((rng.next() * 2 - 1) * 1024) / 1024;
  return { a, b };
}

/** Rows of C that are read back and checked: first, middle, last. */
export function checkRows(m: number): number[] {
  return [...new Set([0, m >> 1, m - 1])];
}

/**
 * Largest |got - want| / (sum_i |a_i b_i| + 1e-30) over the given rows of C = A @ B^T, B (n, k).
 * Scaling by the sum of magnitudes makes the figure independent of k and of cancellation.
 */
export function maxRelError(a: Float32Array, b: Float32Array, k: number, n: number, rows: number[], got: Float32Array[]): number {
  let worst = 0;
  rows.forEach((row, ri) => {
    const g = got[ri];
    const ao = row * k;
    for (let j = 0; j < n; j++) {
      const bo = j * k;
      let s = 0;
      let mag = 0;
      for (let i = 0; i < k; i++) {
        const p = a[ao + i] * b[bo + i];
        s += p;
        mag += Math.abs(p);
      }
      const e = Math.abs(g[j] - s) / (mag + 1e-30);
      if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
    }
  });
  return worst;
}

/** Tolerance on maxRelError: f32 accumulation, with f16 inputs a native-f16 kernel may round A too. */
export function tolerance(bFormat: 'f32' | 'f16'): number {
  return bFormat === 'f32' ? 1e-4 : 2e-3;
}
