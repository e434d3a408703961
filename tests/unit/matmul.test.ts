import { describe, expect, it } from 'vitest';
import { roundToF16 } from '../../src/engine/gpu/f16';
import { matmulForward } from '../../src/engine/ops/cpu/matmul';
import { Rng } from '../../src/engine/util/rng';
import { expectGradient, weightedSum } from '../helpers/gradcheck';

// A = [[1, 2, 3], [4, 5, 6]] (2x3), B = [[7, 8], [9, 10], [11, 12]] (3x2):
// A @ B = [[1*7 + 2*9 + 3*11, 1*8 + 2*10 + 3*12], [4*7 + 5*9 + 6*11, 4*8 + 5*10 + 6*12]] = [[58, 64], [139, 154]].
const A = [1, 2, 3, 4, 5, 6];
const AT = [1, 4, 2, 5, 3, 6]; // the same A stored (k, m) = (3, 2)
const B = [7, 8, 9, 10, 11, 12];
const BT = [7, 9, 11, 8, 10, 12]; // the same B stored (n, k) = (2, 3)
const AB = [58, 64, 139, 154];

function product(a: number[], b: number[], transA: boolean, transB: boolean): number[] {
  const out = new Float64Array(4);
  matmulForward(out, Float64Array.from(a), Float64Array.from(b), { m: 2, k: 3, n: 2, transA, transB });
  return [...out];
}

describe('matmul (CPU reference)', () => {
  it('multiplies a hand-checked 2x3 by 3x2 in every storage order', () => {
    expect(product(A, B, false, false)).toEqual(AB);
    expect(product(A, BT, false, true)).toEqual(AB);
    expect(product(AT, B, true, false)).toEqual(AB);
    expect(product(AT, BT, true, true)).toEqual(AB);
  });

  it('applies alpha, then bias, then accumulates into out', () => {
    const out = Float64Array.of(1, 1, 1, 1);
    const bias = Float64Array.of(0.5, -0.5);
    matmulForward(out, Float64Array.from(A), Float64Array.from(B), { m: 2, k: 3, n: 2 }, { alpha: 2, bias, accumulate: true });
    // 2 * [[58, 64], [139, 154]] + [0.5, -0.5] + 1
    expect([...out]).toEqual([117.5, 128.5, 279.5, 308.5]);
  });

  it('walks batches with strides and offsets; strideB = 0 reuses one B', () => {
    // Two batch items of A (1x2 each) after a one-element pad, one B (2x1), out after a two-element pad.
    const a = Float64Array.of(99, 1, 2, 3, 4);
    const b = Float64Array.of(10, 100);
    const out = Float64Array.of(-1, -1, 0, 0);
    matmulForward(out, a, b, { m: 1, k: 2, n: 1, batch: 2, strideA: 2, strideB: 0, strideC: 1, offsetA: 1, offsetC: 2 });
    // [1, 2] . [10, 100] = 210, [3, 4] . [10, 100] = 430; the pads stay untouched.
    expect([...out]).toEqual([-1, -1, 210, 430]);
  });

  it('with k = 0 writes alpha * 0 + bias', () => {
    const out = Float64Array.of(5, 5);
    matmulForward(out, new Float64Array(0), new Float64Array(0), { m: 1, k: 0, n: 2 }, { bias: Float64Array.of(3, 4) });
    expect([...out]).toEqual([3, 4]);
  });

  it('models f16 weights by rounding B through f16', () => {
    // 1 + 2^-11 is halfway between the halves 1 and 1 + 2^-10: it rounds to even (1).
    const out = new Float64Array(1);
    matmulForward(out, Float64Array.of(3), Float64Array.from(roundToF16([1 + 2 ** -11])), { m: 1, k: 1, n: 1 });
    expect(out[0]).toBe(3);
  });

  it("gives a linear layer's backward as transposed products that match finite differences", () => {
    // y = x @ W^T with x (T, C) and W (OC, C) as PyTorch stores it; loss = sum(w * y).
    const [T, C, OC] = [3, 4, 5];
    const rng = new Rng(7);
    const x = Float64Array.from(rng.f32(T * C));
    const W = Float64Array.from(rng.f32(OC * C));
    const w = Float64Array.from(rng.f32(T * OC));
    const loss = () => {
      const y = new Float64Array(T * OC);
      matmulForward(y, x, W, { m: T, k: C, n: OC, transB: true });
      return weightedSum(y, w);
    };
    // dL/dy = w. dx = dy @ W: (T, OC) @ (OC, C), W read as stored. dW = dy^T @ x: dy stored (T, OC) is
    // op(A) = dy^T with transA. Both accumulate into buffers that start at zero.
    const dx = new Float64Array(T * C);
    const dW = new Float64Array(OC * C);
    matmulForward(dx, w, W, { m: T, k: OC, n: C }, { accumulate: true });
    matmulForward(dW, w, x, { m: OC, k: T, n: C, transA: true }, { accumulate: true });
    expectGradient(dx, loss, x, 'dx');
    expectGradient(dW, loss, W, 'dW');
  });
});

describe('matmulForward row strides and two-level batches', () => {
  const rng = (n: number, seed: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(i * 7.3 + seed) * 0.5);

  it('writes columns of a wider matrix (ldc) from columns of wider operands (lda, ldb), leaving the rest alone', () => {
    // Contiguous A (3, 4) and B (4, 2) embedded in wider storage: A rows 7 apart from element 2, B rows 5 apart.
    const a = rng(3 * 4, 1);
    const b = rng(4 * 2, 2);
    const want = new Float64Array(3 * 2);
    matmulForward(want, a, b, { m: 3, k: 4, n: 2 });
    const wideA = new Float64Array(2 + 3 * 7).fill(99);
    for (let i = 0; i < 3; i++) for (let p = 0; p < 4; p++) wideA[2 + i * 7 + p] = a[i * 4 + p];
    const wideB = new Float64Array(4 * 5).fill(99);
    for (let p = 0; p < 4; p++) for (let j = 0; j < 2; j++) wideB[p * 5 + j] = b[p * 2 + j];
    const wideC = new Float64Array(1 + 3 * 6).fill(-1);
    matmulForward(wideC, wideA, wideB, { m: 3, k: 4, n: 2, offsetA: 2, lda: 7, ldb: 5, ldc: 6, offsetC: 1 });
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 6; j++) {
        const v = wideC[1 + i * 6 + j];
        if (j < 2) expect(v).toBeCloseTo(want[i * 2 + j], 12);
        else expect(v).toBe(-1);
      }
    }
    expect(wideC[0]).toBe(-1);
  });

  it('shares one B among a group of items: attention scores per (sequence, head) with GQA', () => {
    const [S, T, Hq, Hkv, D] = [2, 3, 4, 2, 2];
    const G = Hq / Hkv;
    const q = rng(S * T * Hq * D, 3); // (S, T, Hq, D)
    const k = rng(S * T * Hkv * D, 4); // (S, T, Hkv, D)
    const scores = new Float64Array(S * Hq * T * T); // (S, Hq, T, T)
    matmulForward(scores, q, k, {
      m: T, k: D, n: T, batch: S * Hq, transB: true, inner: Hq,
      lda: Hq * D, strideA: D, outerA: T * Hq * D,
      ldb: Hkv * D, strideB: D, outerB: T * Hkv * D, groupB: G,
      strideC: T * T, outerC: Hq * T * T,
    });
    for (let s = 0; s < S; s++) {
      for (let h = 0; h < Hq; h++) {
        for (let i = 0; i < T; i++) {
          for (let j = 0; j < T; j++) {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[((s * T + i) * Hq + h) * D + d] * k[((s * T + j) * Hkv + Math.floor(h / G)) * D + d];
            expect(scores[((s * Hq + h) * T + i) * T + j]).toBeCloseTo(dot, 12);
          }
        }
      }
    }
  });
});
