// CPU references for rotary position embeddings in Hugging Face's rotate_half convention (Llama, Qwen2).
// x is (B, T, H, D) contiguous; dimension i < D/2 pairs with i + D/2 and both rotate by
// angle = pos * invFreq[i]:
//   out_i         = x_i cos - x_{i+D/2} sin
//   out_{i+D/2}   = x_{i+D/2} cos + x_i sin
// The angle is formed in float32 exactly as HF does (freqs = pos * inv_freq in f32); cos and sin of that
// f32 angle are then taken in float64.

import type { Vec } from './types';

/**
 * Hugging Face's default inverse frequencies, in float32 as HF computes them:
 * inv_freq[i] = 1 / theta^(fl32(2i / D)), i < D/2.
 */
export function ropeInverseFrequencies(headDim: number, theta: number): Float32Array {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
    throw new RangeError(`RoPE head dimension must be a positive even integer, got ${headDim}`);
  }
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround((2 * i) / headDim);
    out[i] = 1 / Math.fround(Math.pow(theta, exponent));
  }
  return out;
}

export interface RopeShape {
  B: number;
  T: number;
  H: number;
  D: number;
  /** Added to every position (a KV-cached decode step rotates at its absolute position). */
  positionOffset?: number;
  /** One position per (b, t), for packed sequences whose positions restart; replaces t. */
  positions?: Int32Array;
}

/** The position of token (b, t): positionOffset + (positions ? positions[b * T + t] : t). */
export function ropePosition(shape: RopeShape, b: number, t: number): number {
  const base = shape.positions ? shape.positions[b * shape.T + t] : t;
  return (shape.positionOffset ?? 0) + base;
}

/** The float32 angle HF rotates by: fl32(pos * invFreq). */
export function ropeAngle(pos: number, invFreq: number): number {
  return Math.fround(Math.fround(pos) * Math.fround(invFreq));
}

/** Rotates every pair by +angle (sign 1) or -angle (sign -1); out = or += per `accumulate`. */
function rotate(out: Vec, x: Vec, invFreq: ArrayLike<number>, shape: RopeShape, sign: number, accumulate: boolean): void {
  const { B, T, H, D } = shape;
  const half = D / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const pos = ropePosition(shape, b, t);
      for (let i = 0; i < half; i++) {
        const angle = ropeAngle(pos, invFreq[i]);
        const cos = Math.cos(angle);
        const sin = sign * Math.sin(angle);
        for (let h = 0; h < H; h++) {
          const base = ((b * T + t) * H + h) * D;
          const lo = x[base + i];
          const hi = x[base + i + half];
          const outLo = lo * cos - hi * sin;
          const outHi = hi * cos + lo * sin;
          if (accumulate) {
            out[base + i] += outLo;
            out[base + i + half] += outHi;
          } else {
            out[base + i] = outLo;
            out[base + i + half] = outHi;
          }
        }
      }
    }
  }
}

/** out (B, T, H, D) = RoPE(x). `out` may be `x` (each pair is read before it is written). */
export function ropeForward(out: Vec, x: Vec, invFreq: ArrayLike<number>, shape: RopeShape): void {
  rotate(out, x, invFreq, shape, 1, false);
}

/** dx += RoPE^T(dout): the transpose of a rotation is the rotation by -angle. */
export function ropeBackward(dx: Vec, dout: Vec, invFreq: ArrayLike<number>, shape: RopeShape): void {
  rotate(dx, dout, invFreq, shape, -1, true);
}
