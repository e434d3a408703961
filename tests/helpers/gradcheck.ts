// Central finite differences in float64: d loss / d p[i] ~ (L(p + h e_i) - L(p - h e_i)) / 2h.

import { expectClose } from './assert';

export function numericalGradient(loss: () => number, param: Float64Array, h = 1e-5): Float64Array {
  const grad = new Float64Array(param.length);
  for (let i = 0; i < param.length; i++) {
    const saved = param[i];
    param[i] = saved + h;
    const up = loss();
    param[i] = saved - h;
    const down = loss();
    param[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/** Checks an analytic gradient against central differences, with float64 tolerances. */
export function expectGradient(analytic: Float64Array, loss: () => number, param: Float64Array, label: string, tol = { atol: 1e-7, rtol: 1e-5 }): void {
  expectClose(analytic, numericalGradient(loss, param), tol, `${label} gradient vs finite differences`);
}

/** A fixed random projection makes a scalar loss out of a tensor output: L = sum(w * out). */
export function weightedSum(out: Float64Array, weights: Float64Array): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * weights[i];
  return s;
}
