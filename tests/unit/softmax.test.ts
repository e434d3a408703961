import { describe, expect, it } from 'vitest';
import { softmaxBackward, softmaxForward } from '../../src/engine/ops/cpu/softmax';
import { Rng } from '../../src/engine/util/rng';
import { expectClose } from '../helpers/assert';
import { expectGradient, weightedSum } from '../helpers/gradcheck';

describe('softmax (CPU reference)', () => {
  it('matches hand-worked rows', () => {
    // Row 0: exp(0) : exp(ln 3) = 1 : 3. Row 1: equal logits share equally.
    const y = new Float64Array(4);
    softmaxForward(y, Float64Array.of(0, Math.log(3), 5, 5), 2, 2);
    expectClose(y, [0.25, 0.75, 0.5, 0.5], { atol: 1e-15, rtol: 0 }, 'softmax');
  });

  it('applies the scale before normalising', () => {
    // scale 2: logits (0, ln 3 / 2) become (0, ln 3).
    const y = new Float64Array(2);
    softmaxForward(y, Float64Array.of(0, Math.log(3) / 2), 1, 2, 2);
    expectClose(y, [0.25, 0.75], { atol: 1e-15, rtol: 0 }, 'scaled softmax');
  });

  it('stays finite for logits around 1e4 (exp alone would overflow)', () => {
    const y = new Float64Array(5);
    softmaxForward(y, Float64Array.of(1e4, 1e4 + Math.log(3), -1e4, 1e4 - 800, 1e4), 1, 5);
    expectClose(y, [0.2, 0.6, 0, 0, 0.2], { atol: 1e-12, rtol: 0 }, 'huge logits');
    expect(y.every(Number.isFinite)).toBe(true);
  });

  it('computes the textbook backward on a hand-worked row', () => {
    // y = (0.25, 0.75), dy = (1, 0): dot = 0.25; dx = (0.25 * 0.75, 0.75 * -0.25) = (0.1875, -0.1875).
    const dx = Float64Array.of(1, 1); // accumulates onto what is there
    softmaxBackward(dx, Float64Array.of(0.25, 0.75), Float64Array.of(1, 0), 1, 2);
    expectClose(dx, [1.1875, 0.8125], { atol: 1e-15, rtol: 0 }, 'dx');
  });

  it('has a backward that matches finite differences (with and without a scale)', () => {
    const rng = new Rng(7);
    const [rows, cols] = [3, 5];
    for (const scale of [1, 0.37]) {
      const x = Float64Array.from(rng.f32(rows * cols, -3, 3));
      const w = Float64Array.from(rng.f32(rows * cols));
      const y = new Float64Array(rows * cols);
      const loss = () => {
        softmaxForward(y, x, rows, cols, scale);
        return weightedSum(y, w);
      };
      loss();
      const dx = new Float64Array(rows * cols);
      softmaxBackward(dx, Float64Array.from(y), w, rows, cols, scale);
      expectGradient(dx, loss, x, `dx (scale ${scale})`);
    }
  });
});
