// CPU references for the MLP activations: SiLU, the SwiGLU product (Llama, Qwen2) and GELU with the tanh
// approximation (GPT-2's gelu_new). Written straight from the definitions (tanh, not the GPU's sigmoid
// form), so the GPU kernels are checked against an independent formulation.
// Forward writes `out`; backward ACCUMULATES (+=) into the gradients, as llm.c does.

import type { Vec } from './types';

const GELU_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/** In float64, exp(-x) overflows to Infinity for x < -709 and the result is exactly 0: never NaN. */
function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** out = x * sigmoid(x); x, out (n). */
export function siluForward(out: Vec, x: Vec): void {
  for (let i = 0; i < out.length; i++) out[i] = x[i] * sigmoid(x[i]);
}

/** dx += dout * s * (1 + x (1 - s)), s = sigmoid(x); all (n). */
export function siluBackward(dx: Vec, x: Vec, dout: Vec): void {
  for (let i = 0; i < dout.length; i++) {
    const s = sigmoid(x[i]);
    dx[i] += dout[i] * s * (1 + x[i] * (1 - s));
  }
}

/** out = silu(gate) * up; gate, up, out (N, F) (any common shape: the product is elementwise). */
export function swigluForward(out: Vec, gate: Vec, up: Vec): void {
  for (let i = 0; i < out.length; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

/** dgate += dout * up * silu'(gate), dup += dout * silu(gate); all (N, F). */
export function swigluBackward(dgate: Vec, dup: Vec, gate: Vec, up: Vec, dout: Vec): void {
  for (let i = 0; i < dout.length; i++) {
    const g = gate[i];
    const s = sigmoid(g);
    dgate[i] += dout[i] * up[i] * s * (1 + g * (1 - s));
    dup[i] += dout[i] * g * s;
  }
}

/** out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); x, out (n). */
export function geluForward(out: Vec, x: Vec): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i];
    out[i] = 0.5 * v * (1 + Math.tanh(GELU_SCALE * (v + GELU_CUBIC * v * v * v)));
  }
}

/** dx += dout * (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)), t = tanh(u); all (n). */
export function geluBackward(dx: Vec, x: Vec, dout: Vec): void {
  for (let i = 0; i < dout.length; i++) {
    const v = x[i];
    const t = Math.tanh(GELU_SCALE * (v + GELU_CUBIC * v * v * v));
    const du = GELU_SCALE * (1 + 3 * GELU_CUBIC * v * v);
    dx[i] += dout[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
  }
}
