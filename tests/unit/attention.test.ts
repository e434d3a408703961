import { describe, expect, it } from 'vitest';
import { attentionBackward, attentionForward, type AttentionDims } from '../../src/engine/ops/cpu/attention';
import { Rng } from '../../src/engine/util/rng';
import { expectClose } from '../helpers/assert';
import { expectGradient, weightedSum } from '../helpers/gradcheck';

const exact = { atol: 1e-14, rtol: 0 };

function sizes(d: AttentionDims) {
  return { q: d.batch * d.tq * d.hq * d.headDim, kv: d.batch * d.tk * d.hkv * d.headDim, lse: d.batch * d.hq * d.tq };
}

function randomInputs(seed: number, d: AttentionDims, amplitude = 1) {
  const rng = new Rng(seed);
  const n = sizes(d);
  return {
    q: Float64Array.from(rng.f32(n.q, -amplitude, amplitude)),
    k: Float64Array.from(rng.f32(n.kv, -amplitude, amplitude)),
    v: Float64Array.from(rng.f32(n.kv)),
  };
}

function forward(q: Float64Array, k: Float64Array, v: Float64Array, d: AttentionDims) {
  const n = sizes(d);
  const out = new Float64Array(n.q);
  const lse = new Float64Array(n.lse);
  attentionForward(out, lse, q, k, v, d);
  return { out, lse };
}

/** Repeats each kv head Hq/Hkv times: (B, T, Hkv, D) -> (B, T, Hq, D). */
function repeatKvHeads(x: Float64Array, batch: number, t: number, hkv: number, hq: number, D: number): Float64Array {
  const g = hq / hkv;
  const y = new Float64Array(batch * t * hq * D);
  for (let b = 0; b < batch; b++)
    for (let j = 0; j < t; j++)
      for (let h = 0; h < hq; h++)
        for (let c = 0; c < D; c++) y[((b * t + j) * hq + h) * D + c] = x[((b * t + j) * hkv + Math.floor(h / g)) * D + c];
  return y;
}

/** Sums each group of Hq/Hkv heads: the adjoint of repeatKvHeads. */
function sumKvGroups(y: Float64Array, batch: number, t: number, hkv: number, hq: number, D: number): Float64Array {
  const g = hq / hkv;
  const x = new Float64Array(batch * t * hkv * D);
  for (let b = 0; b < batch; b++)
    for (let j = 0; j < t; j++)
      for (let h = 0; h < hq; h++)
        for (let c = 0; c < D; c++) x[((b * t + j) * hkv + Math.floor(h / g)) * D + c] += y[((b * t + j) * hq + h) * D + c];
  return x;
}

describe('attention (CPU reference)', () => {
  // T = 2, D = 1 (scale 1/sqrt(1) = 1), one head. Keys k = (0, 1), values v = (2, 6).
  // Query 0 sees key 0 only: out = 2, lse = q0 * 0 = 0.
  // Query 1 = ln 3 sees both: scores (0, ln 3), weights (1/4, 3/4), out = 0.5 + 4.5 = 5, lse = ln(1 + 3).
  const tiny: AttentionDims = { batch: 1, tq: 2, tk: 2, hq: 1, hkv: 1, headDim: 1 };
  const tinyQ = Float64Array.of(5, Math.log(3));
  const tinyK = Float64Array.of(0, 1);
  const tinyV = Float64Array.of(2, 6);

  it('matches a hand-worked causal case (T=2, D=1)', () => {
    const { out, lse } = forward(tinyQ, tinyK, tinyV, tiny);
    expectClose(out, [2, 5], exact, 'out');
    expectClose(lse, [0, Math.log(4)], exact, 'lse');
  });

  it('matches the hand-worked backward (T=2, D=1, dout = 1)', () => {
    // P = [[1, 0], [1/4, 3/4]], dout = (1, 1).
    // dv = P^T dout = (1 + 1/4, 3/4).
    // dP = dout v^T = [[2, 6], [2, 6]]; row 0: dS = 1 * (2 - 2) = 0;
    // row 1: P.dP = 0.5 + 4.5 = 5, dS = (1/4 (2 - 5), 3/4 (6 - 5)) = (-3/4, 3/4).
    // dq = dS k = (0, 3/4); dk = dS^T q = (0 * 5 - 3/4 ln 3, 3/4 ln 3).
    const dq = new Float64Array(2);
    const dk = new Float64Array(2);
    const dv = new Float64Array(2);
    attentionBackward(dq, dk, dv, Float64Array.of(1, 1), tinyQ, tinyK, tinyV, tiny);
    expectClose(dv, [1.25, 0.75], exact, 'dv');
    expectClose(dq, [0, 0.75], exact, 'dq');
    expectClose(dk, [-0.75 * Math.log(3), 0.75 * Math.log(3)], exact, 'dk');
  });

  it('uses the scale parameter instead of 1/sqrt(D) when given', () => {
    // Scale 2 with q1 = ln 3 / 2 gives the same scores as the hand-worked case.
    const { out } = forward(Float64Array.of(5, Math.log(3) / 2), tinyK, tinyV, { ...tiny, scale: 2 });
    expectClose(out, [2, 5], exact, 'out');
  });

  it('offsets queries for a KV-cached decode: Tq = 1 equals the last row of the full pass', () => {
    const full: AttentionDims = { batch: 2, tq: 6, tk: 6, hq: 4, hkv: 2, headDim: 3 };
    const { q, k, v } = randomInputs(1, full);
    const all = forward(q, k, v, full);
    for (const tq of [1, 2]) {
      // The last tq query rows of every batch item, against all 6 keys.
      const rowLen = full.hq * full.headDim;
      const qTail = new Float64Array(full.batch * tq * rowLen);
      const want = new Float64Array(qTail.length);
      const wantLse = new Float64Array(full.batch * full.hq * tq);
      for (let b = 0; b < full.batch; b++) {
        const from = (b * full.tq + full.tq - tq) * rowLen;
        qTail.set(q.subarray(from, from + tq * rowLen), b * tq * rowLen);
        want.set(all.out.subarray(from, from + tq * rowLen), b * tq * rowLen);
        for (let h = 0; h < full.hq; h++)
          for (let i = 0; i < tq; i++) wantLse[(b * full.hq + h) * tq + i] = all.lse[(b * full.hq + h) * full.tq + full.tq - tq + i];
      }
      const step = forward(qTail, k, v, { ...full, tq });
      expectClose(step.out, want, exact, `decode out (tq=${tq})`);
      expectClose(step.lse, wantLse, exact, `decode lse (tq=${tq})`);
    }
  });

  it('never lets a query see a later key (causal mask)', () => {
    const d: AttentionDims = { batch: 1, tq: 5, tk: 5, hq: 2, hkv: 1, headDim: 4 };
    const { q, k, v } = randomInputs(2, d);
    const before = forward(q, k, v, d);
    // Change key and value 3 (kv head 0): rows 0..2 must be unchanged, rows 3..4 must change.
    const rowLen = d.hkv * d.headDim;
    for (let c = 0; c < rowLen; c++) {
      k[3 * rowLen + c] += 0.5;
      v[3 * rowLen + c] -= 0.7;
    }
    const after = forward(q, k, v, d);
    const qRow = d.hq * d.headDim;
    expect([...after.out.subarray(0, 3 * qRow)]).toEqual([...before.out.subarray(0, 3 * qRow)]);
    for (let i = 3; i < 5; i++) {
      expect(after.out.subarray(i * qRow, (i + 1) * qRow)).not.toEqual(before.out.subarray(i * qRow, (i + 1) * qRow));
    }
  });

  it('lets every query see every key when not causal', () => {
    const d: AttentionDims = { batch: 1, tq: 2, tk: 2, hq: 1, hkv: 1, headDim: 1, causal: false };
    // Query 0 (q = 5) against keys (0, 1): weights (1, e^5) / (1 + e^5).
    const { out } = forward(tinyQ, tinyK, tinyV, d);
    const w = Math.exp(5) / (1 + Math.exp(5));
    expectClose(out, [2 * (1 - w) + 6 * w, 5], { atol: 1e-14, rtol: 1e-14 }, 'out');
  });

  it('equals multi-head attention with kv heads repeated (forward and backward)', () => {
    const gqa: AttentionDims = { batch: 2, tq: 4, tk: 4, hq: 6, hkv: 2, headDim: 3 };
    const mha: AttentionDims = { ...gqa, hkv: gqa.hq };
    const { q, k, v } = randomInputs(3, gqa);
    const kRep = repeatKvHeads(k, gqa.batch, gqa.tk, gqa.hkv, gqa.hq, gqa.headDim);
    const vRep = repeatKvHeads(v, gqa.batch, gqa.tk, gqa.hkv, gqa.hq, gqa.headDim);
    const a = forward(q, k, v, gqa);
    const b = forward(q, kRep, vRep, mha);
    expectClose(a.out, b.out, exact, 'out');
    expectClose(a.lse, b.lse, exact, 'lse');

    const dout = Float64Array.from(new Rng(4).f32(q.length));
    const n = sizes(gqa);
    const [dqA, dkA, dvA] = [new Float64Array(n.q), new Float64Array(n.kv), new Float64Array(n.kv)];
    attentionBackward(dqA, dkA, dvA, dout, q, k, v, gqa);
    const [dqB, dkB, dvB] = [new Float64Array(n.q), new Float64Array(n.q), new Float64Array(n.q)];
    attentionBackward(dqB, dkB, dvB, dout, q, kRep, vRep, mha);
    expectClose(dqA, dqB, exact, 'dq');
    expectClose(dkA, sumKvGroups(dkB, gqa.batch, gqa.tk, gqa.hkv, gqa.hq, gqa.headDim), { atol: 1e-14, rtol: 1e-12 }, 'dk');
    expectClose(dvA, sumKvGroups(dvB, gqa.batch, gqa.tk, gqa.hkv, gqa.hq, gqa.headDim), { atol: 1e-14, rtol: 1e-12 }, 'dv');
  });

  it('accumulates gradients into what the buffers already hold', () => {
    const d: AttentionDims = { batch: 1, tq: 3, tk: 3, hq: 2, hkv: 1, headDim: 2 };
    const { q, k, v } = randomInputs(5, d);
    const dout = Float64Array.from(new Rng(6).f32(q.length));
    const n = sizes(d);
    const fresh = [new Float64Array(n.q), new Float64Array(n.kv), new Float64Array(n.kv)] as const;
    attentionBackward(...fresh, dout, q, k, v, d);
    const twice = [new Float64Array(n.q), new Float64Array(n.kv), new Float64Array(n.kv)] as const;
    attentionBackward(...twice, dout, q, k, v, d);
    attentionBackward(...twice, dout, q, k, v, d);
    for (let t = 0; t < 3; t++) expectClose(twice[t], fresh[t].map((x) => 2 * x), { atol: 1e-15, rtol: 1e-15 }, `grad ${t}`);
  });

  const gradCases: [string, AttentionDims][] = [
    ['causal GQA, Tq = Tk', { batch: 2, tq: 3, tk: 3, hq: 4, hkv: 2, headDim: 3 }],
    ['causal with a KV offset (Tq < Tk)', { batch: 1, tq: 2, tk: 4, hq: 3, hkv: 3, headDim: 2 }],
    ['non-causal, custom scale', { batch: 1, tq: 3, tk: 3, hq: 2, hkv: 1, headDim: 2, causal: false, scale: 0.8 }],
  ];
  for (const [name, d] of gradCases) {
    it(`has dq, dk, dv that match finite differences (${name})`, () => {
      // Amplitude 2 makes the softmax far from uniform, so the gradients are not trivially small.
      const { q, k, v } = randomInputs(7, d, 2);
      const w = Float64Array.from(new Rng(8).f32(q.length));
      const loss = () => weightedSum(forward(q, k, v, d).out, w);
      const n = sizes(d);
      const [dq, dk, dv] = [new Float64Array(n.q), new Float64Array(n.kv), new Float64Array(n.kv)];
      attentionBackward(dq, dk, dv, w, q, k, v, d);
      expectGradient(dq, loss, q, 'dq');
      expectGradient(dk, loss, k, 'dk');
      expectGradient(dv, loss, v, 'dv');
    });
  }

  it('rejects shapes it cannot serve', () => {
    const base: AttentionDims = { batch: 1, tq: 2, tk: 2, hq: 4, hkv: 3, headDim: 2 };
    expect(() => forward(new Float64Array(16), new Float64Array(12), new Float64Array(12), base)).toThrow(/multiple/);
    expect(() => forward(new Float64Array(8), new Float64Array(4), new Float64Array(4), { ...base, hq: 2, hkv: 1, tq: 3 })).toThrow(/exceed/);
  });
});
