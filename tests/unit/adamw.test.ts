import { describe, expect, it } from 'vitest';
import { adamwScalars, adamwUpdate, clipCoefficient, globalGradNorm, type AdamWHyper } from '../../src/engine/ops/cpu/adamw';
import { Rng } from '../../src/engine/util/rng';
import { expectClose } from '../helpers/assert';

const base: AdamWHyper = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** The textbook AdamW of Loshchilov & Hutter / the torch docs, written independently of the reference. */
function textbookAdamW(p: number[], grads: number[][], lrs: number[], h: Omit<AdamWHyper, 'lr'>, coefs: number[]): number[] {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const out = [...p];
  for (let t = 1; t <= lrs.length; t++) {
    const lr = lrs[t - 1];
    for (let i = 0; i < out.length; i++) {
      const g = grads[t - 1][i] * coefs[t - 1];
      out[i] -= lr * h.weightDecay * out[i];
      m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
      v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
      const mHat = m[i] / (1 - h.beta1 ** t);
      const vHat = v[i] / (1 - h.beta2 ** t);
      out[i] -= (lr * mHat) / (Math.sqrt(vHat) + h.eps);
    }
  }
  return out;
}

describe('AdamW (CPU reference)', () => {
  it('computes the step scalars in float64 from lr and t', () => {
    const s = adamwScalars({ ...base, weightDecay: 0.01 }, 2);
    expect(s.decay).toBeCloseTo(0.999, 15);
    expect(s.lerpWeight).toBeCloseTo(0.1, 15);
    expect(s.negStepSize).toBeCloseTo(-0.1 / 0.19, 14); // 1 - 0.9^2 = 0.19
    expect(s.biasCorrection2Sqrt).toBeCloseTo(Math.sqrt(1 - 0.998001), 15);
    expect(() => adamwScalars(base, 0)).toThrow(RangeError);
  });

  it('moves each weight by about lr * sign(g) on step 1 (m_hat = g, v_hat = g^2)', () => {
    const p = Float64Array.of(1, 1, 0.5);
    const g = Float64Array.of(0.5, -2, 0);
    const m = new Float64Array(3);
    const v = new Float64Array(3);
    adamwUpdate(p, g, m, v, base, 1);
    // 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002; 1 + 0.1 * 2 / (2 + 1e-8) = 1.0999999995; g = 0 leaves p.
    expectClose(p, [0.900000002, 1.0999999995, 0.5], { atol: 1e-15, rtol: 0 }, 'param');
    expectClose(m, [0.05, -0.2, 0], { atol: 0, rtol: 1e-14 }, 'm = 0.1 g');
    expectClose(v, [0.00025, 0.004, 0], { atol: 0, rtol: 1e-14 }, 'v = 0.001 g^2'); // 1 - 0.999 is inexact in f64
  });

  it('decays weights decoupled from the gradient', () => {
    // Zero gradient: the Adam term is 0 / eps = 0, the decay still shrinks p by lr * wd * p.
    const p = Float64Array.of(2, -3);
    adamwUpdate(p, new Float64Array(2), new Float64Array(2), new Float64Array(2), { ...base, weightDecay: 0.01 }, 1);
    expectClose(p, [1.998, -2.997], { atol: 1e-15, rtol: 0 }, 'decayed param');
    // With a gradient: 2 * (1 - 0.1 * 0.5) - 0.1 * 0.5 / (0.5 + 1e-8) = 1.800000002. Adam with an L2 term
    // (g + wd * p = 1.5) would give 2 - 0.1 * 1.5 / (1.5 + 1e-8) = 1.9000000007 instead.
    const q = Float64Array.of(2);
    adamwUpdate(q, Float64Array.of(0.5), new Float64Array(1), new Float64Array(1), { ...base, weightDecay: 0.5 }, 1);
    expect(q[0]).toBeCloseTo(1.800000002, 14);
  });

  for (const beta1 of [0.9, 0.3]) {
    it(`matches the textbook formula over several steps with a changing lr and clipping (beta1 = ${beta1})`, () => {
      const rng = new Rng(7);
      const n = 9;
      const h = { beta1, beta2: 0.99, eps: 1e-6, weightDecay: 0.05 };
      const lrs = [0.01, 0.02, 0.03, 0.015, 0.001, 0.008, 0.02];
      const coefs = [1, 0.5, 1, 1, 0.25, 1, 0.9];
      const p0 = Array.from(rng.normals(n));
      const grads = lrs.map((_, t) => Array.from(rng.normals(n, 0.1 * (t + 1))));
      grads[3][2] = 0; // one zero gradient along the way
      const want = textbookAdamW(p0, grads, lrs, h, coefs);

      const p = Float64Array.from(p0);
      const m = new Float64Array(n);
      const v = new Float64Array(n);
      const p32 = Float32Array.from(p0);
      const m32 = new Float32Array(n);
      const v32 = new Float32Array(n);
      for (let t = 1; t <= lrs.length; t++) {
        const hyper = { ...h, lr: lrs[t - 1] };
        adamwUpdate(p, Float64Array.from(grads[t - 1]), m, v, hyper, t, { clipCoef: coefs[t - 1] });
        adamwUpdate(p32, Float32Array.from(grads[t - 1]), m32, v32, hyper, t, { clipCoef: coefs[t - 1], precision: 'float32' });
      }
      expectClose(p, want, { atol: 1e-15, rtol: 1e-13 }, 'float64 vs textbook');
      // float32 mode: f32 inputs and a few roundings per step.
      expectClose(p32, want, { atol: 1e-7, rtol: 1e-6 }, 'float32 vs textbook');
    });
  }

  it('rounds every float32-mode value to f32', () => {
    const p = Float32Array.of(0.3);
    const m = new Float32Array(1);
    const v = new Float32Array(1);
    const held: number[] = [];
    for (let t = 1; t <= 3; t++) {
      // A Float64Array view of the same numbers would expose unrounded intermediates; keep f64 copies.
      const p64 = Float64Array.from(p);
      const m64 = Float64Array.from(m);
      const v64 = Float64Array.from(v);
      adamwUpdate(p64, Float64Array.of(0.1 * t), m64, v64, base, t, { precision: 'float32' });
      held.push(p64[0], m64[0], v64[0]);
      adamwUpdate(p, Float32Array.of(0.1 * t), m, v, base, t, { precision: 'float32' });
    }
    for (const x of held) expect(Math.fround(x)).toBe(x);
  });
});

describe('gradient norm and clip coefficient (CPU reference)', () => {
  it('takes the L2 norm over all buffers together', () => {
    expect(globalGradNorm([Float64Array.of(3), Float64Array.of(4)])).toBe(5);
    expect(globalGradNorm([Float64Array.of(1, 2), Float64Array.of(-2)])).toBe(3);
  });

  it('follows clip_grad_norm_: no clipping below max_norm, max_norm / (norm + 1e-6) above it', () => {
    expect(clipCoefficient(0.5, 1)).toBe(1);
    expect(clipCoefficient(4, 1)).toBeCloseTo(1 / 4.000001, 15);
    expect(clipCoefficient(10, 2.5)).toBeCloseTo(2.5 / 10.000001, 15);
    // At exactly max_norm the 1e-6 still scales slightly, as in torch.
    expect(clipCoefficient(1, 1)).toBeLessThan(1);
    expect(clipCoefficient(4, 1, 'float32')).toBeCloseTo(0.25, 6);
    expect(Math.fround(clipCoefficient(4, 1, 'float32'))).toBe(clipCoefficient(4, 1, 'float32'));
  });

  it('disables clipping for max_norm 0 or null, and rejects negative max_norm', () => {
    expect(clipCoefficient(100, 0)).toBe(1);
    expect(clipCoefficient(100, null)).toBe(1);
    expect(clipCoefficient(100, undefined)).toBe(1);
    expect(() => clipCoefficient(1, -1)).toThrow(RangeError);
  });
});
