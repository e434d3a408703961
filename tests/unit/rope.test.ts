import { describe, expect, it } from 'vitest';
import { ropeAngle, ropeBackward, ropeForward, ropeInverseFrequencies, ropePosition, type RopeShape } from '../../src/engine/ops/cpu/rope';
import { Rng } from '../../src/engine/util/rng';
import { expectGradient, weightedSum } from '../helpers/gradcheck';

describe('RoPE (CPU reference)', () => {
  it('computes HF inverse frequencies theta^(-2i/D) in float32', () => {
    expect([...ropeInverseFrequencies(4, 10000)]).toEqual([1, Math.fround(0.01)]);
    expect([...ropeInverseFrequencies(8, 10000)]).toEqual([1, 0.1, 0.01, 0.001].map(Math.fround));
    const llama = ropeInverseFrequencies(64, 500000);
    expect(llama.length).toBe(32);
    for (let i = 0; i < 32; i++) {
      const exact = 500000 ** (-(2 * i) / 64);
      expect(Math.abs(llama[i] - exact) / exact).toBeLessThan(2 ** -22);
    }
    expect(() => ropeInverseFrequencies(5, 10000)).toThrow(RangeError);
  });

  it('is the identity at position 0', () => {
    const x = Float64Array.of(0.25, -1.5, 3, 7, -2, 0.5);
    const out = new Float64Array(6);
    ropeForward(out, x, Float32Array.of(1, 0.5, 0.25), { B: 1, T: 1, H: 1, D: 6 });
    expect([...out]).toEqual([...x]);
  });

  it('swaps a pair with a sign at angle pi/2: (a, b) -> (-b, a)', () => {
    // D = 2, one pair; invFreq = pi/2 and position 1 give the f32 angle fl(pi/2).
    const out = new Float64Array(2);
    ropeForward(out, Float64Array.of(3, 5), Float32Array.of(Math.PI / 2), { B: 1, T: 2, H: 1, D: 2, positionOffset: 1 });
    expect(out[0]).toBeCloseTo(-5, 6);
    expect(out[1]).toBeCloseTo(3, 6);
  });

  it('pairs i with i + D/2 (rotate_half), not adjacent elements', () => {
    // D = 4, invFreq = [pi/2 (f32), 0]: at position 1, dims (0, 2) rotate by pi/2 and (1, 3) stay.
    const out = new Float64Array(4);
    ropeForward(out, Float64Array.of(1, 2, 3, 4), Float32Array.of(Math.PI / 2, 0), { B: 1, T: 1, H: 1, D: 4, positionOffset: 1 });
    expect(out[0]).toBeCloseTo(-3, 6);
    expect(out[1]).toBe(2);
    expect(out[2]).toBeCloseTo(1, 6);
    expect(out[3]).toBe(4);
  });

  it('rounds the angle to float32 as HF does, before cos and sin', () => {
    // At a large position the f32 product differs from the exact one; the reference must use the f32 one.
    const inv = Math.fround(0.7498942);
    const pos = 3001;
    const angle = ropeAngle(pos, inv);
    expect(angle).toBe(Math.fround(pos * inv));
    expect(angle).not.toBe(pos * inv);
    const out = new Float64Array(2);
    ropeForward(out, Float64Array.of(1, 0), Float32Array.of(inv), { B: 1, T: 1, H: 1, D: 2, positionOffset: pos });
    expect(out[0]).toBe(Math.cos(angle));
    expect(out[1]).toBe(Math.sin(angle));
  });

  it('takes positions from positionOffset + t, or positionOffset + positions[b * T + t]', () => {
    expect(ropePosition({ B: 2, T: 3, H: 1, D: 2 }, 1, 2)).toBe(2);
    expect(ropePosition({ B: 2, T: 3, H: 1, D: 2, positionOffset: 10 }, 1, 2)).toBe(12);
    const positions = Int32Array.of(0, 1, 2, 0, 1, 0);
    expect(ropePosition({ B: 2, T: 3, H: 1, D: 2, positions }, 1, 2)).toBe(0);
    expect(ropePosition({ B: 2, T: 3, H: 1, D: 2, positions, positionOffset: 4 }, 1, 1)).toBe(5);
  });

  it('preserves the norm of each pair and is undone by the backward (an orthogonal map)', () => {
    const rng = new Rng(31);
    const shape: RopeShape = { B: 2, T: 3, H: 2, D: 6, positionOffset: 100 };
    const n = 2 * 3 * 2 * 6;
    const x = Float64Array.from(rng.f32(n));
    const inv = ropeInverseFrequencies(6, 10000);
    const y = new Float64Array(n);
    ropeForward(y, x, inv, shape);
    for (let base = 0; base < n; base += 6) {
      for (let i = 0; i < 3; i++) {
        const before = x[base + i] ** 2 + x[base + i + 3] ** 2;
        const after = y[base + i] ** 2 + y[base + i + 3] ** 2;
        expect(after).toBeCloseTo(before, 14);
      }
    }
    const back = new Float64Array(n);
    ropeBackward(back, y, inv, shape);
    back.forEach((v, i) => expect(v).toBeCloseTo(x[i], 14));
  });

  it('has an input gradient that matches finite differences', () => {
    const rng = new Rng(32);
    const positions = Int32Array.of(0, 5, 1, 2, 0, 17);
    const shape: RopeShape = { B: 2, T: 3, H: 2, D: 4, positions, positionOffset: 3 };
    const n = 2 * 3 * 2 * 4;
    const x = Float64Array.from(rng.f32(n));
    const proj = Float64Array.from(rng.f32(n));
    const inv = ropeInverseFrequencies(4, 10000);
    const loss = () => {
      const out = new Float64Array(n);
      ropeForward(out, x, inv, shape);
      return weightedSum(out, proj);
    };
    const dx = new Float64Array(n).fill(0);
    ropeBackward(dx, proj, inv, shape);
    expectGradient(dx, loss, x, 'rope dx');
    // The backward accumulates.
    const again = Float64Array.from(dx);
    ropeBackward(again, proj, inv, shape);
    again.forEach((v, i) => expect(v).toBeCloseTo(2 * dx[i], 14));
  });
});
