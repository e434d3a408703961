// CPU references for residual add and scale: out = alpha * x + beta * y.

import type { Vec } from './types';

export function axpbyForward(out: Vec, x: Vec, y: Vec, alpha: number, beta: number): void {
  for (let i = 0; i < out.length; i++) out[i] = alpha * x[i] + beta * y[i];
}

/** dx += alpha * dout, dy += beta * dout (accumulates, as llm.c's backward passes do). */
export function axpbyBackward(dx: Vec, dy: Vec, dout: Vec, alpha: number, beta: number): void {
  for (let i = 0; i < dout.length; i++) {
    dx[i] += alpha * dout[i];
    dy[i] += beta * dout[i];
  }
}
