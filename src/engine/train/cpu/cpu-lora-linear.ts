// One linear slot with its LoRA update, forward and backward, in float64:
//   y (T, out) = x W^T + b + scale * (dropout(x) A^T) B[rows]^T
// with x (T, in), W (out, in), A (r, in), B[rows] the (out, r) row block of the module's B. Dropout is an
// explicit (T, in) mask of 0 or 1 / (1 - p) (the reference draws nothing itself). Base weights are frozen:
// the backward gives dx and the A, B gradients only.

import type { CpuLinear } from '../../model/cpu-weights';
import type { Vec } from '../../ops/cpu/types';
import { addMatmul, addMatmulTransA, addMatmulTransB } from './dense';

/** The LoRA of one slot, resolved for one sequence. */
export interface SlotLora {
  /** (r, in) */
  a: Vec;
  /** (outFeatures of the module, r) */
  b: Vec;
  rows: readonly [number, number];
  r: number;
  scale: number;
  /** (T, in) dropout mask, already scaled by 1 / (1 - p); none: no dropout. */
  mask?: Float64Array;
}

/** What the backward needs from the forward's LoRA branch. */
export interface SlotLoraSaved {
  /** (T, in) dropout(x): the input of A. */
  xd: Float64Array;
  /** (T, r) dropout(x) A^T: the input of B. */
  xa: Float64Array;
}

/** Gradient accumulators of one module: (r, in) for A, (out, r) for B. */
export interface ModuleGrads {
  a: Float64Array;
  b: Float64Array;
}

export function loraLinearForward(x: Float64Array, w: CpuLinear, T: number, lora?: SlotLora): { y: Float64Array; saved?: SlotLoraSaved } {
  const y = new Float64Array(T * w.out); // (T, out)
  if (w.bias) for (let t = 0; t < T; t++) y.set(w.bias, t * w.out);
  addMatmulTransB(y, x, w.weight, T, w.in, w.out);
  if (!lora) return { y };
  const { r, rows } = lora;
  const xd = lora.mask ? x.map((v, i) => v * lora.mask![i]) : x;
  const xa = new Float64Array(T * r); // (T, r)
  addMatmulTransB(xa, xd, lora.a, T, w.in, r);
  addMatmulTransB(y, xa, lora.b, T, r, w.out, lora.scale, rows[0] * r);
  return { y, saved: { xd, xa } };
}

/** dx (T, in) += dy W + LoRA's part; the module's grads += this slot's dA, dB[rows]. */
export function loraLinearBackward(
  dx: Float64Array,
  dy: Float64Array,
  w: CpuLinear,
  T: number,
  lora?: SlotLora,
  saved?: SlotLoraSaved,
  grads?: ModuleGrads,
): void {
  addMatmul(dx, dy, w.weight, T, w.out, w.in);
  if (!lora) return;
  if (!saved || !grads) throw new Error('loraLinearBackward: a LoRA slot needs its saved activations and gradient buffers');
  const { r, rows, scale } = lora;
  const u = new Float64Array(T * r); // (T, r) = dy B[rows]
  addMatmul(u, dy, lora.b, T, w.out, r, 1, rows[0] * r);
  // dB[rows] (out, r) += scale dy^T xa;  dA (r, in) += scale u^T xd
  addMatmulTransA(grads.b, dy, saved.xa, w.out, T, r, scale, rows[0] * r);
  addMatmulTransA(grads.a, u, saved.xd, r, T, w.in, scale);
  // dx += (scale u A) * mask
  const dxd = new Float64Array(T * w.in);
  addMatmul(dxd, u, lora.a, T, r, w.in, scale);
  for (let i = 0; i < dxd.length; i++) dx[i] += lora.mask ? dxd[i] * lora.mask[i] : dxd[i];
}
