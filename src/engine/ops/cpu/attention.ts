// CPU references for causal self-attention with grouped-query heads (GQA), materialising the (Tq, Tk)
// scores per (batch, head) the textbook way.
//
//   q (B, Tq, Hq, D), k and v (B, Tk, Hkv, D), out (B, Tq, Hq, D), lse (B, Hq, Tq); all contiguous.
//   Query head h reads kv head floor(h / (Hq / Hkv)).
//   Query i sits at absolute position (Tk - Tq) + i and, when causal, sees keys 0..that position
//   (Tq = Tk: training; Tq = 1: one decode step against a KV cache of Tk positions).
//   S = scale * q k^T, P = softmax(S) per row, out = P v, lse = logsumexp(S) per row.

import type { Vec } from './types';

export interface AttentionDims {
  batch: number;
  /** Query positions (rows of out). */
  tq: number;
  /** Key / value positions; tq <= tk. */
  tk: number;
  /** Query heads; a multiple of hkv. */
  hq: number;
  /** Key / value heads. */
  hkv: number;
  headDim: number;
  /** Multiplies q . k; default 1 / sqrt(headDim). */
  scale?: number;
  /** Default true. */
  causal?: boolean;
}

export interface ResolvedAttentionDims extends Required<AttentionDims> {
  /** Query heads per kv head. */
  group: number;
  /** Absolute position of query 0: tk - tq. */
  shift: number;
}

export function resolveAttentionDims(dims: AttentionDims): ResolvedAttentionDims {
  const { batch, tq, tk, hq, hkv, headDim } = dims;
  for (const [name, n] of Object.entries({ batch, tq, tk, hq, hkv, headDim })) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`attention: ${name} must be a positive integer, got ${n}`);
  }
  if (hq % hkv !== 0) throw new RangeError(`attention: hq (${hq}) must be a multiple of hkv (${hkv})`);
  if (tq > tk) throw new RangeError(`attention: tq (${tq}) must not exceed tk (${tk})`);
  return {
    batch,
    tq,
    tk,
    hq,
    hkv,
    headDim,
    scale: dims.scale ?? 1 / Math.sqrt(headDim),
    causal: dims.causal ?? true,
    group: hq / hkv,
    shift: tk - tq,
  };
}

/** Index of element (b, t, h, 0) in a contiguous (B, T, H, D) tensor. */
function at(b: number, t: number, h: number, T: number, H: number, D: number): number {
  return ((b * T + t) * H + h) * D;
}

/** Number of keys query i may see. */
function visibleKeys(r: ResolvedAttentionDims, i: number): number {
  return r.causal ? r.shift + i + 1 : r.tk;
}

/** probs[j] = softmax_j(scale * q_i . k_j) over the visible keys; returns logsumexp of the scores. */
function attentionRow(probs: Float64Array, q: Vec, k: Vec, r: ResolvedAttentionDims, b: number, h: number, i: number): number {
  const { tq, tk, hq, hkv, headDim: D } = r;
  const hk = Math.floor(h / r.group);
  const n = visibleKeys(r, i);
  const qi = at(b, i, h, tq, hq, D);
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const kj = at(b, j, hk, tk, hkv, D);
    let s = 0;
    for (let d = 0; d < D; d++) s += q[qi + d] * k[kj + d];
    probs[j] = r.scale * s;
    max = Math.max(max, probs[j]);
  }
  let sum = 0;
  for (let j = 0; j < n; j++) {
    probs[j] = Math.exp(probs[j] - max);
    sum += probs[j];
  }
  for (let j = 0; j < n; j++) probs[j] /= sum;
  return max + Math.log(sum);
}

/** out (B, Tq, Hq, D) = softmax(scale q k^T, causal) v; lse (B, Hq, Tq) = logsumexp of each score row. */
export function attentionForward(out: Vec, lse: Vec, q: Vec, k: Vec, v: Vec, dims: AttentionDims): void {
  const r = resolveAttentionDims(dims);
  const { batch, tq, tk, hq, hkv, headDim: D } = r;
  const probs = new Float64Array(tk);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < hq; h++) {
      const hk = Math.floor(h / r.group);
      for (let i = 0; i < tq; i++) {
        lse[(b * hq + h) * tq + i] = attentionRow(probs, q, k, r, b, h, i);
        const oi = at(b, i, h, tq, hq, D);
        for (let d = 0; d < D; d++) out[oi + d] = 0;
        for (let j = 0; j < visibleKeys(r, i); j++) {
          const vj = at(b, j, hk, tk, hkv, D);
          for (let d = 0; d < D; d++) out[oi + d] += probs[j] * v[vj + d];
        }
      }
    }
  }
}

/**
 * Backward by the textbook formulas, recomputing P from q and k:
 *   dv_j += sum_i P_ij dout_i,  dP_ij = dout_i . v_j,  dS_ij = P_ij (dP_ij - sum_j' P_ij' dP_ij'),
 *   dq_i += scale sum_j dS_ij k_j,  dk_j += scale sum_i dS_ij q_i.
 * For GQA, dk and dv sum over every query head of the kv head's group. Accumulates into dq, dk, dv.
 */
export function attentionBackward(dq: Vec, dk: Vec, dv: Vec, dout: Vec, q: Vec, k: Vec, v: Vec, dims: AttentionDims): void {
  const r = resolveAttentionDims(dims);
  const { batch, tq, tk, hq, hkv, headDim: D } = r;
  const probs = new Float64Array(tk);
  const dp = new Float64Array(tk);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < hq; h++) {
      const hk = Math.floor(h / r.group);
      for (let i = 0; i < tq; i++) {
        attentionRow(probs, q, k, r, b, h, i);
        const n = visibleKeys(r, i);
        const qi = at(b, i, h, tq, hq, D);
        let rowDot = 0;
        for (let j = 0; j < n; j++) {
          const vj = at(b, j, hk, tk, hkv, D);
          let s = 0;
          for (let d = 0; d < D; d++) {
            s += dout[qi + d] * v[vj + d];
            dv[vj + d] += probs[j] * dout[qi + d];
          }
          dp[j] = s;
          rowDot += probs[j] * s;
        }
        for (let j = 0; j < n; j++) {
          const kj = at(b, j, hk, tk, hkv, D);
          const ds = probs[j] * (dp[j] - rowDot);
          for (let d = 0; d < D; d++) {
            dq[qi + d] += r.scale * ds * k[kj + d];
            dk[kj + d] += r.scale * ds * q[qi + d];
          }
        }
      }
    }
  }
}
