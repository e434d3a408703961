import { describe, expect, it } from 'vitest';
import {
  geluBackward,
  geluForward,
  siluBackward,
  siluForward,
  swigluBackward,
  swigluForward,
} from '../../src/engine/ops/cpu/activations';
import { Rng } from '../../src/engine/util/rng';
import { expectGradient, weightedSum } from '../helpers/gradcheck';

const f64 = (...v: number[]) => Float64Array.from(v);

function forward(fn: (out: Float64Array, x: Float64Array) => void, ...x: number[]): number[] {
  const out = new Float64Array(x.length);
  fn(out, Float64Array.from(x));
  return [...out];
}

function derivative(fn: (dx: Float64Array, x: Float64Array, dout: Float64Array) => void, ...x: number[]): number[] {
  const dx = new Float64Array(x.length);
  fn(dx, Float64Array.from(x), new Float64Array(x.length).fill(1));
  return [...dx];
}

function expectDigits(actual: number[], expected: number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(a, `element ${i}`).toBeCloseTo(expected[i], digits));
}

describe('SiLU (CPU reference)', () => {
  // sigmoid(1) = 1 / (1 + e^-1) = 0.7310586; silu'(x) = s (1 + x (1 - s)).
  it('matches hand-computed values', () => {
    expectDigits(forward(siluForward, 0, 1, -1, 2), [0, 0.731059, -0.268941, 1.761594]);
    expectDigits(derivative(siluBackward, 0, 1, -1, 2), [0.5, 0.927671, 0.072329, 1.090784]);
  });

  it('saturates without NaN for large |x|', () => {
    const y = forward(siluForward, 100, -100, 1000, -1000);
    expect([y[0], y[2], y[3]]).toEqual([100, 1000, -0]);
    expect(y[1]).toBeCloseTo(-100 * 3.720076e-44, 48); // -100 e^-100 / (1 + e^-100)
    const d = derivative(siluBackward, 100, -1000);
    expect(d[0]).toBeCloseTo(1, 12);
    expect(d[1]).toBe(0);
  });

  it('accumulates into dx', () => {
    const dx = f64(10);
    siluBackward(dx, f64(0), f64(2));
    expect(dx[0]).toBe(11); // 10 + 2 * 0.5
  });

  it('has gradients that match finite differences', () => {
    const rng = new Rng(1);
    const x = Float64Array.from(rng.normals(9, 3));
    const w = Float64Array.from(rng.f32(9));
    const dx = new Float64Array(9);
    siluBackward(dx, x, w);
    expectGradient(dx, () => {
      const out = new Float64Array(9);
      siluForward(out, x);
      return weightedSum(out, w);
    }, x, 'silu dx');
  });
});

describe('GELU, tanh approximation (CPU reference)', () => {
  // u = sqrt(2/pi) (x + 0.044715 x^3); gelu(1) = 0.5 (1 + tanh(0.833554)) = 0.841192.
  it('matches hand-computed values', () => {
    expectDigits(forward(geluForward, 0, 1, -1, 2), [0, 0.841192, -0.158808, 1.954598]);
    expectDigits(derivative(geluBackward, 0, 1, -1, 2), [0.5, 1.082964, -0.082964, 1.086099]);
  });

  it('saturates without NaN up to |x| = 50 and beyond', () => {
    expect(forward(geluForward, 50, -50, 1e4, -1e4)).toEqual([50, -0, 1e4, -0]);
    expect(derivative(geluBackward, 50, -50, 1e4, -1e4)).toEqual([1, 0, 1, 0]);
  });

  it('has gradients that match finite differences', () => {
    const rng = new Rng(2);
    const x = Float64Array.from(rng.normals(9, 3));
    const w = Float64Array.from(rng.f32(9));
    const dx = new Float64Array(9);
    geluBackward(dx, x, w);
    expectGradient(dx, () => {
      const out = new Float64Array(9);
      geluForward(out, x);
      return weightedSum(out, w);
    }, x, 'gelu dx');
  });
});

describe('SwiGLU product (CPU reference)', () => {
  it('is silu(gate) * up', () => {
    const out = new Float64Array(3);
    swigluForward(out, f64(0, 1, -1), f64(5, 3, -2));
    expectDigits([...out], [0, 2.193176, 0.537883]);
  });

  it('has hand-checked gradients: dgate = dh up silu\'(g), dup = dh silu(g)', () => {
    const dgate = new Float64Array(2);
    const dup = new Float64Array(2);
    swigluBackward(dgate, dup, f64(0, 1), f64(4, 3), f64(1, 2));
    expectDigits([...dgate], [2, 5.566023]); // 4 * 0.5, 2 * 3 * 0.9276705
    expectDigits([...dup], [0, 1.462117]); // 2 * 0.7310586
  });

  it('has gradients that match finite differences for gate and up', () => {
    const rng = new Rng(3);
    const n = 8;
    const gate = Float64Array.from(rng.normals(n, 3));
    const up = Float64Array.from(rng.normals(n, 1));
    const w = Float64Array.from(rng.f32(n));
    const loss = () => {
      const out = new Float64Array(n);
      swigluForward(out, gate, up);
      return weightedSum(out, w);
    };
    const dgate = new Float64Array(n);
    const dup = new Float64Array(n);
    swigluBackward(dgate, dup, gate, up, w);
    expectGradient(dgate, loss, gate, 'swiglu dgate');
    expectGradient(dup, loss, up, 'swiglu dup');
  });
});
