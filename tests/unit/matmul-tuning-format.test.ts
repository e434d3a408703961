// What the Device page shows of a matmul tuning: rows per class (products, choice against the rule with its
// gain, each candidate's figure or why it has none), the summary line with the tuning's age, GFLOP/s digits.

import { describe, expect, it } from 'vitest';
import { formatAge, formatGflops, tuningRows, tuningSummary } from '../../src/ui/matmul-tuning-format';
import type { MatmulTuningRecord } from '../../src/worker/protocol-matmul-tuning';

const RECORD: MatmulTuningRecord = {
  adapterKey: 'google / swiftshader / swiftshader-device-subzero- / SwiftShader driver 5.0.0 #0a1b2c3d',
  kernelsVersion: '59e30bef',
  tunedAt: '2026-12-10T10:00:00.000Z',
  profile: 'small',
  budgetS: 15,
  elapsedS: 14.25,
  classes: [
    {
      id: 'f16.large',
      label: 'm ≥ 128, B f16',
      products: [
        { m: 256, k: 576, n: 192, transA: false, transB: true },
        { m: 256, k: 192, n: 576, transA: false, transB: false },
      ],
      bFormat: 'f16',
      choice: 'quad16x8',
      rule: 'widen+quad16x8',
      candidates: [
        { variant: 'widen+quad16x8', gflops: 0.875 },
        { variant: 'quad16x8', gflops: 1.0725 },
        { variant: 'reg8x8', gflops: null, note: 'wrong result (256x576x192: element 3: 1 against 2)' },
        { variant: 'shared64', gflops: null, note: 'not timed: budget spent' },
      ],
    },
    {
      id: 'f32.gradB',
      label: 'transA, m ≥ 128, n < 32, B f32 (LoRA dB)',
      products: [{ m: 576, k: 256, n: 16, transA: true, transB: false }],
      bFormat: 'f32',
      choice: 'reg8x8',
      rule: 'reg8x8',
      candidates: [
        { variant: 'reg8x8', gflops: 61.349 },
        { variant: 'quad16x8', gflops: 6012.4 },
      ],
    },
  ],
};

describe('matmul tuning on the Device page', () => {
  it('lays out each class: products, choice, gain over the rule, and every candidate with its figure or reason', () => {
    const [large, gradB] = tuningRows(RECORD);
    expect(large).toEqual({
      id: 'f16.large',
      label: 'm ≥ 128, B f16',
      products: '256×576×192 Bᵀ + 256×192×576',
      choice: 'quad16x8',
      rule: 'widen+quad16x8',
      gain: '1.23× the rule',
      candidates: [
        { variant: 'widen+quad16x8', text: '0.875', status: 'timed', chosen: false },
        { variant: 'quad16x8', text: '1.07', status: 'timed', chosen: true },
        { variant: 'reg8x8', text: '—', title: 'wrong result (256x576x192: element 3: 1 against 2)', status: 'failed', chosen: false },
        { variant: 'shared64', text: '—', title: 'not timed: budget spent', status: 'untimed', chosen: false },
      ],
    });
    // The rule kept (even beside a faster-looking figure the margin rejected): no gain shown.
    expect(gradB.products).toBe('576×256×16 Aᵀ');
    expect(gradB.gain).toBeNull();
    expect(gradB.candidates.map((c) => [c.text, c.chosen])).toEqual([
      ['61.3', true],
      ['6012', false],
    ]);
  });

  it('summarises when and how it was measured and how many classes left the built-in choice', () => {
    const now = Date.parse('2026-12-10T10:05:30.000Z');
    expect(tuningSummary(RECORD, now)).toBe(
      'Measured 5 minutes ago in 14.3 s (budget 15 s, small products); 1 of 2 classes run another kernel than the built-in choice.',
    );
    const kept = { ...RECORD, classes: RECORD.classes.map((c) => ({ ...c, choice: c.rule })) };
    expect(tuningSummary(kept, Date.parse('2026-12-12T11:00:00.000Z'))).toBe(
      'Measured 2 days ago in 14.3 s (budget 15 s, small products); every one of the 2 classes keeps the built-in choice.',
    );
  });

  it('writes ages and rates as people read them', () => {
    expect(formatAge(59_000)).toBe('just now');
    expect(formatAge(60_000)).toBe('1 minute ago');
    expect(formatAge(3 * 3600_000 + 5)).toBe('3 hours ago');
    expect(formatAge(25 * 3600_000)).toBe('1 day ago');
    expect([0.2334, 4.236, 61.349, 6012.4].map(formatGflops)).toEqual(['0.233', '4.24', '61.3', '6012']);
  });
});
