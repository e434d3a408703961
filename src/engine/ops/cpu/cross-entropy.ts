// CPU references for the language-model loss: cross-entropy of logits (N, V) against integer targets (N),
// where N = B * T rows and V is the vocabulary. A negative target (Hugging Face uses -100) marks a row
// that is not trained: its loss and gradient are 0 and it does not count towards the mean.
//
// Two forms: the plain full-vocabulary definition, and a chunked form that sees the vocabulary in column
// chunks [v0, v0 + Vc) with an online max / sum-of-exp per row, mirroring the GPU kernels step by step
// (same state layout), so it serves both as their reference and to show that chunking changes nothing.

import type { Vec } from './types';

/** Hugging Face's ignore_index. Every negative target is ignored; -100 is the convention. */
export const IGNORE_INDEX = -100;

export interface LossSummary {
  /** Mean loss over trained rows; 0 when every row is ignored. */
  mean: number;
  /** Sum of per-row losses. */
  sum: number;
  /** Number of trained (non-ignored) rows. */
  count: number;
}

export function trainedCount(targets: Int32Array): number {
  let n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] >= 0) n++;
  return n;
}

/** The default gradient scale: 1 / (number of trained rows), or 0 when there are none. */
export function defaultGradScale(targets: Int32Array): number {
  const n = trainedCount(targets);
  return n > 0 ? 1 / n : 0;
}

function checkTarget(t: number, V: number): void {
  if (t >= V) throw new RangeError(`target ${t} is outside the vocabulary of ${V}`);
}

/**
 * Full-vocabulary forward. logits (N, V), targets (N). Writes rowLoss (N): logsumexp(logits[i]) - logits[i, t_i],
 * 0 for ignored rows; returns the summary (mean over trained rows).
 */
export function crossEntropyForward(rowLoss: Vec, logits: Vec, targets: Int32Array, N: number, V: number): LossSummary {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t < 0) {
      rowLoss[i] = 0;
      continue;
    }
    checkTarget(t, V);
    const row = i * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[row + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[row + j] - max);
    // (max - x_t) first: both are large when the logits are, their difference is not.
    rowLoss[i] = max - logits[row + t] + Math.log(s);
    sum += rowLoss[i];
    count++;
  }
  return { mean: count > 0 ? sum / count : 0, sum, count };
}

/**
 * dlogits (N, V) += scale * (softmax(logits[i]) - onehot(t_i)); ignored rows get nothing. `scale` is one
 * number for every row, or each row's own (an objective's d loss / d row loss).
 */
export function crossEntropyBackward(
  dlogits: Vec,
  logits: Vec,
  targets: Int32Array,
  N: number,
  V: number,
  scale: number | ArrayLike<number> = defaultGradScale(targets),
): void {
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t < 0) continue;
    const rowScale = typeof scale === 'number' ? scale : scale[i];
    checkTarget(t, V);
    const row = i * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[row + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[row + j] - max);
    for (let j = 0; j < V; j++) {
      const p = Math.exp(logits[row + j] - max) / s;
      dlogits[row + j] += rowScale * (p - (j === t ? 1 : 0));
    }
  }
}

// ---- chunked form (mirrors shaders/cross_entropy_*.wgsl) ----

/** Floats per row in the running state: [max, sum of exp(x - max), target logit, unused]. */
export const STATE_STRIDE = 4;
/** Floats per row in the saved logsumexp: [max, log(sum of exp(x - max))]; logsumexp = max + logSum. */
export const LSE_STRIDE = 2;

/**
 * Folds one logits chunk (N, Vc), holding vocabulary columns [v0, v0 + Vc), into the running state (N, 4).
 * `first` starts the state afresh (the first chunk), so the state needs no separate initialisation.
 */
export function crossEntropyChunkStats(
  state: Vec,
  chunk: Vec,
  targets: Int32Array,
  N: number,
  Vc: number,
  v0: number,
  first: boolean,
): void {
  for (let i = 0; i < N; i++) {
    const row = i * Vc;
    let cmax = -Infinity;
    for (let j = 0; j < Vc; j++) cmax = Math.max(cmax, chunk[row + j]);
    let csum = 0;
    for (let j = 0; j < Vc; j++) csum += Math.exp(chunk[row + j] - cmax);
    const st = i * STATE_STRIDE;
    if (first) {
      state[st] = cmax;
      state[st + 1] = csum;
      state[st + 2] = 0;
      state[st + 3] = 0;
    } else {
      // Rescale both sums to the larger of the two maxima.
      const max = Math.max(state[st], cmax);
      state[st + 1] = state[st + 1] * Math.exp(state[st] - max) + csum * Math.exp(cmax - max);
      state[st] = max;
    }
    const local = targets[i] - v0;
    if (targets[i] >= 0 && local >= 0 && local < Vc) state[st + 2] = chunk[row + local];
  }
}

/** Turns the state into lse (N, 2) and rowLoss (N); returns the summary over trained rows. */
export function crossEntropyFinalize(lse: Vec, rowLoss: Vec, state: Vec, targets: Int32Array, N: number): LossSummary {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < N; i++) {
    const st = i * STATE_STRIDE;
    const logSum = Math.log(state[st + 1]);
    lse[i * LSE_STRIDE] = state[st];
    lse[i * LSE_STRIDE + 1] = logSum;
    rowLoss[i] = targets[i] >= 0 ? state[st] - state[st + 2] + logSum : 0;
    if (targets[i] >= 0) count++;
    sum += rowLoss[i];
  }
  return { mean: count > 0 ? sum / count : 0, sum, count };
}

/** dchunk (N, Vc) += scale * (softmax - onehot) for columns [v0, v0 + Vc), from the saved lse (N, 2). */
export function crossEntropyChunkBackward(
  dchunk: Vec,
  chunk: Vec,
  lse: Vec,
  targets: Int32Array,
  N: number,
  Vc: number,
  v0: number,
  scale: number,
): void {
  for (let i = 0; i < N; i++) {
    if (targets[i] < 0) continue;
    const max = lse[i * LSE_STRIDE];
    const logSum = lse[i * LSE_STRIDE + 1];
    for (let j = 0; j < Vc; j++) {
      const p = Math.exp(chunk[i * Vc + j] - max - logSum);
      dchunk[i * Vc + j] += scale * (p - (v0 + j === targets[i] ? 1 : 0));
    }
  }
}

// ---- through the LM head: logits = h @ W^T, h (N, C), W (V, C) as a PyTorch Linear weight ----

/** out (N, Vc) = h (N, C) @ W[v0 : v0 + Vc]^T. */
export function lmHeadLogits(out: Vec, h: Vec, W: Vec, N: number, C: number, v0: number, Vc: number): void {
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < Vc; j++) {
      const w = (v0 + j) * C;
      let acc = 0;
      for (let c = 0; c < C; c++) acc += h[i * C + c] * W[w + c];
      out[i * Vc + j] = acc;
    }
  }
}

/** dh (N, C) += dlogits (N, Vc) @ W[v0 : v0 + Vc];  dW[v0 : v0 + Vc] += dlogits^T @ h (when dW is given). */
function lmHeadLogitsBackward(
  dh: Vec,
  dW: Vec | null,
  dlogits: Vec,
  h: Vec,
  W: Vec,
  N: number,
  C: number,
  v0: number,
  Vc: number,
): void {
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < Vc; j++) {
      const g = dlogits[i * Vc + j];
      const w = (v0 + j) * C;
      for (let c = 0; c < C; c++) {
        dh[i * C + c] += g * W[w + c];
        if (dW) dW[w + c] += g * h[i * C + c];
      }
    }
  }
}

function zerosLike(x: Vec, n: number): Vec {
  return x instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

/** Loss through the LM head, materialising the full (N, V) logits. Writes rowLoss (N). */
export function lmHeadLossForward(
  rowLoss: Vec,
  h: Vec,
  W: Vec,
  targets: Int32Array,
  N: number,
  C: number,
  V: number,
): LossSummary {
  const logits = zerosLike(h, N * V);
  lmHeadLogits(logits, h, W, N, C, 0, V);
  return crossEntropyForward(rowLoss, logits, targets, N, V);
}

/** dh (N, C) += d loss / d h and, when given, dW (V, C) += d loss / d W, for loss = scale * sum of row losses. */
export function lmHeadLossBackward(
  dh: Vec,
  dW: Vec | null,
  h: Vec,
  W: Vec,
  targets: Int32Array,
  N: number,
  C: number,
  V: number,
  scale = defaultGradScale(targets),
): void {
  const logits = zerosLike(h, N * V);
  lmHeadLogits(logits, h, W, N, C, 0, V);
  const dlogits = zerosLike(h, N * V);
  crossEntropyBackward(dlogits, logits, targets, N, V, scale);
  lmHeadLogitsBackward(dh, dW, dlogits, h, W, N, C, 0, V);
}

/** The same loss computed chunk by chunk (never more than (N, Vc) logits). Writes lse (N, 2) and rowLoss (N). */
export function lmHeadLossChunkedForward(
  lse: Vec,
  rowLoss: Vec,
  h: Vec,
  W: Vec,
  targets: Int32Array,
  N: number,
  C: number,
  V: number,
  Vc: number,
): LossSummary {
  const state = zerosLike(h, N * STATE_STRIDE);
  for (let v0 = 0; v0 < V; v0 += Vc) {
    const cols = Math.min(Vc, V - v0);
    const chunk = zerosLike(h, N * cols);
    lmHeadLogits(chunk, h, W, N, C, v0, cols);
    crossEntropyChunkStats(state, chunk, targets, N, cols, v0, v0 === 0);
  }
  return crossEntropyFinalize(lse, rowLoss, state, targets, N);
}

/** Chunked backward from the saved lse (N, 2): recomputes each logits chunk; accumulates into dh and dW. */
export function lmHeadLossChunkedBackward(
  dh: Vec,
  dW: Vec | null,
  h: Vec,
  W: Vec,
  lse: Vec,
  targets: Int32Array,
  N: number,
  C: number,
  V: number,
  Vc: number,
  scale = defaultGradScale(targets),
): void {
  for (let v0 = 0; v0 < V; v0 += Vc) {
    const cols = Math.min(Vc, V - v0);
    const chunk = zerosLike(h, N * cols);
    lmHeadLogits(chunk, h, W, N, C, v0, cols);
    const dchunk = zerosLike(h, N * cols);
    crossEntropyChunkBackward(dchunk, chunk, lse, targets, N, cols, v0, scale);
    lmHeadLogitsBackward(dh, dW, dchunk, h, W, N, C, v0, cols);
  }
}
