// CPU references for RMSNorm (Llama, Qwen2) and LayerNorm (GPT-2), forward and backward.
// Inputs are (B, T, C) folded to (N, C) with N = B * T rows. Sums run in float64 whatever `Vec` is, so the
// references are as exact as the inputs allow. Backward passes ACCUMULATE (+=) into every gradient.

import type { Vec } from './types';

/**
 * RMSNorm as Hugging Face computes it in float32: y = w * (x * rsqrt(mean(x^2) + eps)).
 * out (N, C), rstd (N) receives rsqrt(mean(x^2) + eps) for the backward; x (N, C), w (C).
 */
export function rmsNormForward(out: Vec, rstd: Vec, x: Vec, w: Vec, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[row + c] * x[row + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[row + c] = x[row + c] * r * w[c];
  }
}

/**
 * RMSNorm backward. With g = dout * w and r = rstd:
 *   dx_i += r * (g_i - x_i * r^2 * mean_j(g_j x_j)),   dw_i += sum_n dout_i * x_i * r.
 * Pass `dw = null` when the weight is frozen.
 */
export function rmsNormBackward(
  dx: Vec,
  dw: Vec | null,
  dout: Vec,
  x: Vec,
  w: Vec,
  rstd: Vec,
  N: number,
  C: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const r = rstd[n];
    let gx = 0;
    for (let c = 0; c < C; c++) gx += dout[row + c] * w[c] * x[row + c];
    const k = (r * r * gx) / C;
    for (let c = 0; c < C; c++) {
      dx[row + c] += r * (dout[row + c] * w[c] - x[row + c] * k);
      if (dw) dw[c] += dout[row + c] * x[row + c] * r;
    }
  }
}

/**
 * LayerNorm as PyTorch defines it: y = (x - mean) * rstd * w + b with rstd = 1 / sqrt(var + eps), var the
 * biased (divide by C) variance. Writes mean (N) and rstd (N) for the backward. Two passes (mean, then
 * centred squares) so the variance does not cancel.
 */
export function layerNormForward(
  out: Vec,
  mean: Vec,
  rstd: Vec,
  x: Vec,
  w: Vec,
  b: Vec,
  N: number,
  C: number,
  eps: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += x[row + c];
    const m = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[row + c] - m) ** 2;
    const r = 1 / Math.sqrt(v / C + eps);
    mean[n] = m;
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[row + c] = (x[row + c] - m) * r * w[c] + b[c];
  }
}

/**
 * LayerNorm backward (llm.c's form). With xhat = (x - mean) * rstd and g = dout * w:
 *   dx_i += rstd * (g_i - mean_j(g_j) - xhat_i * mean_j(g_j xhat_j)),
 *   dw_i += sum_n dout_i * xhat_i,   db_i += sum_n dout_i.
 * Pass `dw = null` / `db = null` for frozen parameters.
 */
export function layerNormBackward(
  dx: Vec,
  dw: Vec | null,
  db: Vec | null,
  dout: Vec,
  x: Vec,
  w: Vec,
  mean: Vec,
  rstd: Vec,
  N: number,
  C: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const m = mean[n];
    const r = rstd[n];
    let gSum = 0;
    let gxhatSum = 0;
    for (let c = 0; c < C; c++) {
      const g = dout[row + c] * w[c];
      gSum += g;
      gxhatSum += g * (x[row + c] - m) * r;
    }
    const gMean = gSum / C;
    const gxhatMean = gxhatSum / C;
    for (let c = 0; c < C; c++) {
      const xhat = (x[row + c] - m) * r;
      dx[row + c] += r * (dout[row + c] * w[c] - gMean - xhat * gxhatMean);
      if (dw) dw[c] += dout[row + c] * xhat;
      if (db) db[c] += dout[row + c];
    }
  }
}
