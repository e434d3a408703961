import { describe, expect, it } from 'vitest';
import { axpbyBackward, axpbyForward } from '../../src/engine/ops/cpu/elementwise';
import { Rng } from '../../src/engine/util/rng';
import { expectGradient, weightedSum } from '../helpers/gradcheck';

describe('residual add / scale (CPU reference)', () => {
  it('computes alpha*x + beta*y on a hand-checked case', () => {
    const out = new Float64Array(3);
    axpbyForward(out, Float64Array.of(1, 2, 3), Float64Array.of(10, 20, 30), 2, -1);
    expect([...out]).toEqual([-8, -16, -24]);
  });

  it('has gradients that match finite differences', () => {
    const rng = new Rng(3);
    const n = 7;
    const x = Float64Array.from(rng.f32(n));
    const y = Float64Array.from(rng.f32(n));
    const w = Float64Array.from(rng.f32(n));
    const [alpha, beta] = [0.7, -1.3];
    const loss = () => {
      const out = new Float64Array(n);
      axpbyForward(out, x, y, alpha, beta);
      return weightedSum(out, w);
    };
    const dx = new Float64Array(n);
    const dy = new Float64Array(n);
    axpbyBackward(dx, dy, w, alpha, beta);
    expectGradient(dx, loss, x, 'dx');
    expectGradient(dy, loss, y, 'dy');
  });
});
