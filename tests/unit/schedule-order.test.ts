// Learning-rate schedules (transformers' formulas) and the seeded, resumable data order.

import { describe, expect, test } from 'vitest';
import { DataOrder, epochPermutation } from '../../src/engine/train/data-order';
import { lrAt, validateSchedule, type Schedule } from '../../src/engine/train/schedule';

describe('lrAt', () => {
  const base = { lr: 1e-3, warmupSteps: 10, totalSteps: 110 };
  test('warmup rises linearly from 0; constant holds', () => {
    const s: Schedule = { name: 'constant', ...base };
    expect(lrAt(s, 0)).toBe(0);
    expect(lrAt(s, 5)).toBeCloseTo(5e-4, 15);
    expect(lrAt(s, 10)).toBe(1e-3);
    expect(lrAt(s, 109)).toBe(1e-3);
  });
  test('linear decays to 0 at totalSteps', () => {
    const s: Schedule = { name: 'linear', ...base };
    expect(lrAt(s, 60)).toBeCloseTo(5e-4, 15);
    expect(lrAt(s, 110)).toBe(0);
  });
  test('cosine is half-way at the middle of the decay and 0 at the end', () => {
    const s: Schedule = { name: 'cosine', ...base };
    expect(lrAt(s, 60)).toBeCloseTo(5e-4, 15);
    expect(lrAt(s, 35)).toBeCloseTo(1e-3 * 0.5 * (1 + Math.cos(Math.PI / 4)), 15);
    expect(lrAt(s, 110)).toBeCloseTo(0, 15);
  });
  test('bad values are named', () => {
    expect(() => validateSchedule({ name: 'step' as never, ...base })).toThrow(/unknown scheduler "step"/);
    expect(() => validateSchedule({ name: 'linear', ...base, lr: 0 })).toThrow(/learning rate must be positive/);
  });
});

describe('DataOrder', () => {
  test('each epoch is a permutation, epochs differ, the same seed repeats', () => {
    const order = new DataOrder(10, 42);
    const e0 = order.take(10);
    const e1 = order.take(10);
    expect([...e0].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...e1].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(e1).not.toEqual(e0);
    expect(new DataOrder(10, 42).take(20)).toEqual([...e0, ...e1]);
    expect(new DataOrder(10, 43).take(10)).not.toEqual(e0);
  });
  test('a cursor taken mid-epoch resumes the same sequence', () => {
    const a = new DataOrder(7, 5);
    a.take(11);
    const resumed = new DataOrder(7, 5, a.state);
    expect(resumed.take(9)).toEqual(a.take(9));
    expect(a.consumed).toBe(20);
  });
  test('permutations are roughly uniform (first slot over 70 seeds hits every index)', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 70; seed++) seen.add(epochPermutation(5, seed, 0)[0]);
    expect(seen.size).toBe(5);
  });
});
