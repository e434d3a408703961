// CPU references for the optimizer: torch.optim.AdamW (decoupled weight decay, not "Adam + L2") and
// torch.nn.utils.clip_grad_norm_'s clip coefficient.
//
// torch's single-tensor AdamW step (torch/optim/adam.py, non-capturable path), which we mirror op for op:
//   param.mul_(1 - lr * wd)
//   exp_avg.lerp_(grad, 1 - beta1)                        m = m + w (g - m), fused (CPU vector path)
//   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)   v = v b2 + ((1 - b2) g) g
//   step_size = lr / (1 - beta1^t); bc2_sqrt = sqrt(1 - beta2^t)    Python floats (float64)
//   denom = (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
//   param.addcdiv_(exp_avg, denom, value=-step_size)     p = p + ((-step_size) m) / denom
// Python-float scalars reach the f32 kernels rounded to f32; `adamwScalars` computes them in float64 on
// the host, exactly as torch does, and the GPU kernel receives them as f32.
//
// Two precisions: 'float64' runs the same formula in float64 with unrounded scalars (the ground truth);
// 'float32' rounds the scalars and every intermediate to f32 in torch's order (what torch on the CPU
// computes, up to the rare double rounding of our emulated fma), to judge the GPU kernel tightly.

import { sumOfSquares } from './reduce';
import type { Vec } from './types';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** The per-step scalars of one AdamW step, in float64 (torch computes them as Python floats). */
export interface AdamWScalars {
  /** 1 - lr * weightDecay: multiplies p before the Adam update (decoupled decay). */
  decay: number;
  /** 1 - beta1: the lerp weight of the first moment. */
  lerpWeight: number;
  beta2: number;
  oneMinusBeta2: number;
  /** -lr / (1 - beta1^t). */
  negStepSize: number;
  /** sqrt(1 - beta2^t). */
  biasCorrection2Sqrt: number;
  eps: number;
}

export type Precision = 'float64' | 'float32';

/** Scalars for step t = 1, 2, ... with the learning rate of that step. */
export function adamwScalars(h: AdamWHyper, t: number): AdamWScalars {
  if (!Number.isInteger(t) || t < 1) throw new RangeError(`AdamW step must be an integer >= 1, got ${t}`);
  const biasCorrection1 = 1 - h.beta1 ** t;
  const biasCorrection2 = 1 - h.beta2 ** t;
  return {
    decay: 1 - h.lr * h.weightDecay,
    lerpWeight: 1 - h.beta1,
    beta2: h.beta2,
    oneMinusBeta2: 1 - h.beta2,
    negStepSize: -(h.lr / biasCorrection1),
    biasCorrection2Sqrt: Math.sqrt(biasCorrection2),
    eps: h.eps,
  };
}

const identity = (x: number): number => x;

/**
 * One AdamW step over n elements, in place on param, m and v. The gradient is multiplied by `clipCoef`
 * first when it is below 1 (clip_grad_norm_ scales the gradients before the optimizer runs).
 */
export function adamwUpdate(
  param: Vec,
  grad: Vec,
  m: Vec,
  v: Vec,
  h: AdamWHyper,
  t: number,
  options: { clipCoef?: number; precision?: Precision; n?: number } = {},
): void {
  const r = options.precision === 'float32' ? Math.fround : identity;
  const s = adamwScalars(h, t);
  const decay = r(s.decay);
  const w = r(s.lerpWeight);
  const b2 = r(s.beta2);
  const omb2 = r(s.oneMinusBeta2);
  const negStep = r(s.negStepSize);
  const bc2s = r(s.biasCorrection2Sqrt);
  const eps = r(s.eps);
  const coef = options.clipCoef ?? 1;
  const n = options.n ?? param.length;
  // fma(a, b, c): a*b of two f32 is exact in float64, so one rounding of the sum (then to f32) remains.
  const fma = (a: number, b: number, c: number): number => r(a * b + c);
  for (let i = 0; i < n; i++) {
    const g = coef < 1 ? r(grad[i] * coef) : grad[i];
    const p = r(param[i] * decay);
    const diff = r(g - m[i]);
    // torch's lerp: the small-weight form for w < 0.5, else the form anchored at the end point.
    const mi = w < 0.5 ? fma(w, diff, m[i]) : fma(r(w - 1), diff, g);
    const vi = r(r(v[i] * b2) + r(r(omb2 * g) * g));
    const denom = r(r(r(Math.sqrt(vi)) / bc2s) + eps);
    param[i] = r(p + r(r(negStep * mi) / denom));
    m[i] = mi;
    v[i] = vi;
  }
}

/** sqrt(sum over buffers of sum(g^2)), in float64. */
export function globalGradNorm(grads: readonly Vec[]): number {
  let s = 0;
  for (const g of grads) s += sumOfSquares(g);
  return Math.sqrt(s);
}

/**
 * clip_grad_norm_'s coefficient: min(maxNorm / (totalNorm + 1e-6), 1). torch evaluates the division
 * as reciprocal(total + 1e-6) * maxNorm in f32; 'float32' mirrors that. maxNorm 0 / null / undefined
 * disables clipping (coefficient 1), as the trainer's max_grad_norm = 0 does.
 */
export function clipCoefficient(totalNorm: number, maxNorm: number | null | undefined, precision: Precision = 'float64'): number {
  if (maxNorm == null || maxNorm === 0) return 1;
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new RangeError(`maxNorm must be >= 0, got ${maxNorm}`);
  const r = precision === 'float32' ? Math.fround : identity;
  const coef = r(r(1 / r(totalNorm + r(1e-6))) * r(maxNorm));
  return coef < 1 ? coef : 1;
}
