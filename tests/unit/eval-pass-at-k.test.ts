import { describe, expect, test } from 'vitest';
import { meanPassAtK, passAtK, passAtKKey } from '../../src/engine/eval/metrics/pass-at-k';

// Hand-computed from pass@k = 1 - C(n - c, k) / C(n, k).
describe('pass@k, the unbiased estimator', () => {
  test('pass@1 is the fraction of passing samples', () => {
    expect(passAtK(10, 3, 1)).toBeCloseTo(0.3, 15);
    expect(passAtK(1, 1, 1)).toBe(1);
    expect(passAtK(1, 0, 1)).toBe(0);
  });

  test('pass@k for k > 1 equals 1 - C(n-c,k)/C(n,k)', () => {
    // n=5, c=2, k=2: 1 - C(3,2)/C(5,2) = 1 - 3/10
    expect(passAtK(5, 2, 2)).toBeCloseTo(0.7, 15);
    // n=20, c=5, k=10: 1 - C(15,10)/C(20,10) = 1 - 3003/184756
    expect(passAtK(20, 5, 10)).toBeCloseTo(1 - 3003 / 184756, 14);
    // n=4, c=1, k=3: 1 - C(3,3)/C(4,3) = 1 - 1/4
    expect(passAtK(4, 1, 3)).toBeCloseTo(0.75, 15);
  });

  test('every draw of k holds a passing sample when n - c < k; none passes when c = 0', () => {
    expect(passAtK(10, 9, 2)).toBe(1);
    expect(passAtK(10, 0, 5)).toBe(0);
  });

  test('stays exact where the binomial coefficients overflow a double', () => {
    // C(1000, 500) ~ 2.7e299 and C(999,500)/C(1000,500) = 500/1000: the product form never forms them.
    expect(passAtK(1000, 1, 500)).toBeCloseTo(0.5, 14);
    // n=2000, c=2, k=1000: 1 - (1000/2000)(999/1999)
    expect(passAtK(2000, 2, 1000)).toBeCloseTo(1 - 0.5 * (999 / 1999), 14);
  });

  test('refuses k above n and counts out of range', () => {
    expect(() => passAtK(3, 1, 5)).toThrow(/at least 5 samples per problem, got n = 3/);
    expect(() => passAtK(3, 4, 1)).toThrow(/0 <= c <= n/);
    expect(() => passAtK(0, 0, 1)).toThrow(/n >= 1/);
    expect(() => passAtK(3, 1, 0)).toThrow(/k >= 1/);
  });

  test("a suite's pass@k is the mean over problems with the standard error of that mean", () => {
    // per problem 1, 0, 0, 1: mean 0.5, sample sd sqrt(1/3), stderr sqrt(1/3)/2
    const v = meanPassAtK([{ n: 1, c: 1 }, { n: 1, c: 0 }, { n: 1, c: 0 }, { n: 1, c: 1 }], 1);
    expect(v.value).toBe(0.5);
    expect(v.stderr).toBeCloseTo(Math.sqrt(1 / 3) / 2, 14);
    // (3 samples, 2 pass) and (3, 0): pass@2 per problem 1 and 0
    expect(meanPassAtK([{ n: 3, c: 2 }, { n: 3, c: 0 }], 2).value).toBe(0.5);
    expect(passAtKKey(10)).toBe('pass@10,none');
  });
});
