import { describe, expect, it } from 'vitest';
import {
  crossEntropyBackward,
  crossEntropyChunkBackward,
  crossEntropyChunkStats,
  crossEntropyFinalize,
  crossEntropyForward,
  defaultGradScale,
  lmHeadLossBackward,
  lmHeadLossChunkedBackward,
  lmHeadLossChunkedForward,
  lmHeadLossForward,
  LSE_STRIDE,
  STATE_STRIDE,
} from '../../src/engine/ops/cpu/cross-entropy';
import { Rng } from '../../src/engine/util/rng';
import { expectClose } from '../helpers/assert';
import { expectGradient } from '../helpers/gradcheck';

const { log } = Math;

function randomTargets(rng: Rng, n: number, vocab: number, ignored: number[] = []): Int32Array {
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) t[i] = rng.int(vocab);
  for (const i of ignored) t[i] = -100;
  return t;
}

/** The chunked forward and backward on given logits (no LM head): returns mean, lse and dlogits (N, V). */
function chunkedOnLogits(logits: Float64Array, targets: Int32Array, N: number, V: number, Vc: number, scale?: number) {
  const state = new Float64Array(N * STATE_STRIDE);
  const chunkOf = (v0: number, cols: number) => {
    const c = new Float64Array(N * cols);
    for (let i = 0; i < N; i++) c.set(logits.subarray(i * V + v0, i * V + v0 + cols), i * cols);
    return c;
  };
  for (let v0 = 0; v0 < V; v0 += Vc) {
    const cols = Math.min(Vc, V - v0);
    crossEntropyChunkStats(state, chunkOf(v0, cols), targets, N, cols, v0, v0 === 0);
  }
  const lse = new Float64Array(N * LSE_STRIDE);
  const rowLoss = new Float64Array(N);
  const summary = crossEntropyFinalize(lse, rowLoss, state, targets, N);
  const dlogits = new Float64Array(N * V);
  for (let v0 = 0; v0 < V; v0 += Vc) {
    const cols = Math.min(Vc, V - v0);
    const d = new Float64Array(N * cols);
    crossEntropyChunkBackward(d, chunkOf(v0, cols), lse, targets, N, cols, v0, scale ?? defaultGradScale(targets));
    for (let i = 0; i < N; i++) dlogits.set(d.subarray(i * cols, (i + 1) * cols), i * V + v0);
  }
  return { summary, rowLoss, lse, dlogits };
}

describe('cross-entropy (CPU reference)', () => {
  it('matches a hand-worked case: logits [0, ln2, ln3]', () => {
    // exp(logits) = [1, 2, 3], so softmax = [1/6, 2/6, 3/6]: target 2 costs ln 6 - ln 3 = ln 2, target 0 costs ln 6.
    const logits = Float64Array.of(0, log(2), log(3), 0, log(2), log(3));
    const targets = Int32Array.of(2, 0);
    const rowLoss = new Float64Array(2);
    const s = crossEntropyForward(rowLoss, logits, targets, 2, 3);
    expect(rowLoss[0]).toBeCloseTo(log(2), 14);
    expect(rowLoss[1]).toBeCloseTo(log(6), 14);
    expect(s.count).toBe(2);
    expect(s.mean).toBeCloseTo((log(2) + log(6)) / 2, 14);

    // d mean / d logits = (softmax - onehot) / 2 per row.
    const d = new Float64Array(6);
    crossEntropyBackward(d, logits, targets, 2, 3);
    const want = [1 / 12, 2 / 12, 3 / 12 - 1 / 2, 1 / 12 - 1 / 2, 2 / 12, 3 / 12];
    expectClose(d, want, { atol: 1e-15, rtol: 0 }, 'dlogits');
  });

  it('leaves ignored rows (-100) out of the loss, the mean and the gradient', () => {
    const logits = Float64Array.of(0, log(2), log(3), 5, -1, 2);
    const targets = Int32Array.of(2, -100);
    const rowLoss = new Float64Array(2);
    const s = crossEntropyForward(rowLoss, logits, targets, 2, 3);
    expect(s.count).toBe(1);
    expect(s.mean).toBeCloseTo(log(2), 14);
    expect(rowLoss[1]).toBe(0);
    const d = new Float64Array(6);
    crossEntropyBackward(d, logits, targets, 2, 3);
    expectClose(d, [1 / 6, 2 / 6, 3 / 6 - 1, 0, 0, 0], { atol: 1e-15, rtol: 0 }, 'dlogits');
  });

  it('gives loss 0 (not NaN) and no gradient when every row is ignored', () => {
    const logits = Float64Array.of(1, 2, 3, 4);
    const targets = Int32Array.of(-100, -100);
    const rowLoss = new Float64Array(2);
    const s = crossEntropyForward(rowLoss, logits, targets, 2, 2);
    expect(s).toEqual({ mean: 0, sum: 0, count: 0 });
    const d = new Float64Array(4);
    crossEntropyBackward(d, logits, targets, 2, 2);
    expect([...d]).toEqual([0, 0, 0, 0]);
    const chunked = chunkedOnLogits(logits, targets, 2, 2, 1);
    expect(chunked.summary).toEqual({ mean: 0, sum: 0, count: 0 });
    expect([...chunked.dlogits]).toEqual([0, 0, 0, 0]);
  });

  it('stays finite and exact for large logits (offsets of 1e4 and 3e4)', () => {
    // The same [0, ln2, ln3] row shifted far away: the loss is still ln 2, in f32 as in f64.
    for (const offset of [1e4, 3e4, -3e4]) {
      const row = [offset, offset + log(2), offset + log(3)];
      for (const logits of [Float64Array.from(row), Float32Array.from(row)]) {
        const f64 = Float64Array.from(logits); // the values the f32 inputs really hold
        const want = log(1 + Math.exp(f64[1] - f64[0]) + Math.exp(f64[2] - f64[0])) - (f64[2] - f64[0]);
        const rowLoss = new Float64Array(1);
        crossEntropyForward(rowLoss, logits, Int32Array.of(2), 1, 3);
        expect(rowLoss[0]).toBeCloseTo(want, 12);
        expect(Math.abs(want - log(2))).toBeLessThan(offset === 1e4 ? 1e-3 : 3e-3); // f32 rounding of the inputs only
        const chunked = chunkedOnLogits(f64, Int32Array.of(2), 1, 3, 2);
        expect(chunked.summary.mean).toBeCloseTo(want, 12);
      }
    }
    // Four equal logits of 3e4: exactly ln 4 whichever target.
    const rowLoss = new Float64Array(1);
    crossEntropyForward(rowLoss, Float32Array.of(3e4, 3e4, 3e4, 3e4), Int32Array.of(1), 1, 4);
    expect(rowLoss[0]).toBe(log(4));
  });

  it('gives the same loss, logsumexp and gradient chunk by chunk as over the full vocabulary', () => {
    const rng = new Rng(7);
    const [N, V] = [5, 23];
    const logits = Float64Array.from(rng.f32(N * V, -6, 6));
    const targets = randomTargets(rng, N, V, [3]);
    targets[0] = 0; // targets on the first and last column and at chunk edges
    targets[1] = V - 1;
    targets[2] = 7;
    const rowLoss = new Float64Array(N);
    const full = crossEntropyForward(rowLoss, logits, targets, N, V);
    const dfull = new Float64Array(N * V);
    crossEntropyBackward(dfull, logits, targets, N, V);
    for (const Vc of [1, 4, 7, 8, V - 1, V, V + 5]) {
      const c = chunkedOnLogits(logits, targets, N, V, Vc);
      expect(c.summary.count).toBe(full.count);
      expect(c.summary.mean).toBeCloseTo(full.mean, 13);
      expectClose(c.rowLoss, rowLoss, { atol: 1e-13, rtol: 0 }, `row losses, Vc=${Vc}`);
      expectClose(c.dlogits, dfull, { atol: 1e-15, rtol: 1e-13 }, `dlogits, Vc=${Vc}`);
    }
  });

  it('has a dlogits gradient that matches finite differences (full and chunked)', () => {
    const rng = new Rng(11);
    const [N, V] = [4, 9];
    const logits = Float64Array.from(rng.f32(N * V, -3, 3));
    const targets = randomTargets(rng, N, V, [2]);
    const loss = () => crossEntropyForward(new Float64Array(N), logits, targets, N, V).mean;
    const d = new Float64Array(N * V);
    crossEntropyBackward(d, logits, targets, N, V);
    expectGradient(d, loss, logits, 'dlogits (full)');
    expectGradient(chunkedOnLogits(logits, targets, N, V, 4).dlogits, loss, logits, 'dlogits (chunked, Vc=4)');
    // An explicit scale differentiates scale * sum of row losses.
    const scale = 0.37;
    const sumLoss = () => scale * crossEntropyForward(new Float64Array(N), logits, targets, N, V).sum;
    const ds = new Float64Array(N * V);
    crossEntropyBackward(ds, logits, targets, N, V, scale);
    expectGradient(ds, sumLoss, logits, 'dlogits (scale 0.37)');
    const chunked = chunkedOnLogits(logits, targets, N, V, 3, scale).dlogits;
    expectGradient(chunked, sumLoss, logits, 'dlogits (chunked, scale)');
  });

  it('accumulates into dlogits instead of overwriting', () => {
    const logits = Float64Array.of(0, log(2), log(3));
    const d = Float64Array.of(1, 1, 1);
    crossEntropyBackward(d, logits, Int32Array.of(2), 1, 3);
    expectClose(d, [1 + 1 / 6, 1 + 2 / 6, 1 + 3 / 6 - 1], { atol: 1e-15, rtol: 0 }, 'accumulated dlogits');
  });
});

describe('LM-head loss (CPU reference)', () => {
  const rng = new Rng(5);
  const [N, C, V] = [3, 4, 11];
  const h = Float64Array.from(rng.f32(N * C));
  const W = Float64Array.from(rng.f32(V * C));
  const targets = Int32Array.of(4, -100, 10);

  it('computes logits as h @ W^T (PyTorch Linear layout)', () => {
    // h row 0 = e0 + 2 e1, W row 1 = (3, 5): logit[0, 1] = 3 + 10 = 13.
    const hh = Float64Array.of(1, 2);
    const ww = Float64Array.of(0, 0, 3, 5);
    const rowLoss = new Float64Array(1);
    const s = lmHeadLossForward(rowLoss, hh, ww, Int32Array.of(0), 1, 2, 2);
    expect(s.mean).toBeCloseTo(log(1 + Math.exp(13)), 12); // logits [0, 13], target 0
  });

  it('has dh and dW gradients that match finite differences (full and chunked)', () => {
    const loss = () => lmHeadLossForward(new Float64Array(N), h, W, targets, N, C, V).mean;
    const dh = new Float64Array(N * C);
    const dW = new Float64Array(V * C);
    lmHeadLossBackward(dh, dW, h, W, targets, N, C, V);
    expectGradient(dh, loss, h, 'dh (full)');
    expectGradient(dW, loss, W, 'dW (full)');

    const lse = new Float64Array(N * LSE_STRIDE);
    lmHeadLossChunkedForward(lse, new Float64Array(N), h, W, targets, N, C, V, 4);
    const dhc = new Float64Array(N * C);
    const dWc = new Float64Array(V * C);
    lmHeadLossChunkedBackward(dhc, dWc, h, W, lse, targets, N, C, V, 4);
    expectGradient(dhc, loss, h, 'dh (chunked)');
    expectGradient(dWc, loss, W, 'dW (chunked)');
    // dW is optional (a frozen head).
    const dhOnly = new Float64Array(N * C);
    lmHeadLossChunkedBackward(dhOnly, null, h, W, lse, targets, N, C, V, 4);
    expectClose(dhOnly, dhc, { atol: 0, rtol: 0 }, 'dh without dW');
  });

  it('gives the same loss chunked as over the full vocabulary, for every chunk size', () => {
    const rowLoss = new Float64Array(N);
    const full = lmHeadLossForward(rowLoss, h, W, targets, N, C, V);
    for (const Vc of [1, 3, 5, V, 64]) {
      const lse = new Float64Array(N * LSE_STRIDE);
      const rl = new Float64Array(N);
      const s = lmHeadLossChunkedForward(lse, rl, h, W, targets, N, C, V, Vc);
      expect(s.count).toBe(2);
      expect(s.mean).toBeCloseTo(full.mean, 13);
      expectClose(rl, rowLoss, { atol: 1e-13, rtol: 0 }, `row losses, Vc=${Vc}`);
    }
  });
});
