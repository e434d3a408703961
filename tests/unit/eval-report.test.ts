// Before/after report: differences with their standard errors and significance, lm-evaluation-harness's
// results JSON keys, and RFC 4180 CSV.

import { describe, expect, test } from 'vitest';
import { comparison, csvField, harnessResults, pairedDifference, resultsCsv, splitMetricKey } from '../../src/engine/eval/report';

describe('differences', () => {
  test('independent samples: se = sqrt(se_b^2 + se_a^2), significant when |diff| > 2 se', () => {
    const rows = comparison(
      { 'acc,none': { value: 0.5, stderr: 0.03 }, 'acc_norm,none': { value: 0.5, stderr: 0.03 }, 'only_base,none': { value: 1 } },
      { 'acc,none': { value: 0.62, stderr: 0.04 }, 'acc_norm,none': { value: 0.58, stderr: 0.04 } },
    );
    expect(rows.map((r) => r.metric)).toEqual(['acc,none', 'acc_norm,none']);
    // se = sqrt(0.0009 + 0.0016) = 0.05; 0.12 > 0.10 is marked, 0.08 < 0.10 is not.
    expect(rows[0].difference).toBeCloseTo(0.12, 15);
    expect(rows[0].stderr).toBeCloseTo(0.05, 15);
    expect(rows[0].significant).toBe(true);
    expect(rows[1].significant).toBe(false);
    expect(comparison({ 'ppl,none': { value: 3 } }, { 'ppl,none': { value: 9 } })[0]).toMatchObject({ difference: 6, significant: false });
    expect('stderr' in comparison({ 'ppl,none': { value: 3 } }, { 'ppl,none': { value: 9 } })[0]).toBe(false);
  });

  test('paired: mean and mean_stderr of per-item differences, tighter when runs agree on most items', () => {
    const base = [0, 0, 1, 1, 0, 1, 0, 1];
    const other = [1, 1, 1, 1, 0, 1, 0, 1];
    // d = 1, 1, 0, 0, 0, 0, 0, 0: mean 0.25; sample var (2 x 0.5625 + 6 x 0.0625) / 7 = 1.5 / 7.
    const paired = pairedDifference(base, other);
    expect(paired.difference).toBe(0.25);
    expect(paired.stderr).toBeCloseTo(Math.sqrt(1.5 / 7) / Math.sqrt(8), 15);
    // The independent estimate from the two means' stderrs is larger.
    const se = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + (x - v.reduce((a, b) => a + b) / v.length) ** 2, 0) / (v.length - 1) / v.length);
    expect(paired.stderr!).toBeLessThan(Math.sqrt(se(base) ** 2 + se(other) ** 2));
    expect(() => pairedDifference([1], [1, 0])).toThrow('1 base items but 2 other items');
  });
});

describe('lm-evaluation-harness results layout', () => {
  test('"metric,filter" and "metric_stderr,filter" keys, "N/A" without a stderr', () => {
    expect(splitMetricKey('exact_match,strict-match')).toEqual({ metric: 'exact_match', filter: 'strict-match' });
    expect(splitMetricKey('acc')).toEqual({ metric: 'acc', filter: 'none' });
    const json = harnessResults(
      [
        { task: 'arc_easy', scores: { 'acc,none': { value: 0.25, stderr: 0.01 }, 'acc_norm,none': { value: 0.3, stderr: 0.02 } }, shots: 0, samples: { original: 2376, effective: 100 } },
        { task: 'gsm8k', scores: { 'exact_match,strict-match': { value: 0.1, stderr: 0.05 }, 'exact_match,flexible-extract': { value: 0 } }, shots: 5 },
      ],
      'pretrained=stories260K,adapter=setting',
    );
    expect(json).toEqual({
      results: {
        arc_easy: { alias: 'arc_easy', 'acc,none': 0.25, 'acc_stderr,none': 0.01, 'acc_norm,none': 0.3, 'acc_norm_stderr,none': 0.02 },
        gsm8k: {
          alias: 'gsm8k',
          'exact_match,strict-match': 0.1,
          'exact_match_stderr,strict-match': 0.05,
          'exact_match,flexible-extract': 0,
          'exact_match_stderr,flexible-extract': 'N/A',
        },
      },
      'n-shot': { arc_easy: 0, gsm8k: 5 },
      'n-samples': { arc_easy: { original: 2376, effective: 100 } },
      config: { model: 'tunelab', model_args: 'pretrained=stories260K,adapter=setting' },
    });
  });
});

describe('CSV', () => {
  test('RFC 4180 quoting', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(undefined)).toBe('');
  });

  test('one row per model x task x metric, differences from the first model', () => {
    const csv = resultsCsv([
      { model: 'base', tasks: [{ task: 'arc_easy', scores: { 'acc,none': { value: 0.5, stderr: 0.03 } } }] },
      { model: 'adapter "v2", final', tasks: [{ task: 'arc_easy', scores: { 'acc,none': { value: 0.62, stderr: 0.04 } } }] },
      {
        model: 'paired',
        tasks: [{ task: 'arc_easy', scores: { 'acc,none': { value: 0.55, stderr: 0.04 } } }],
        paired: { arc_easy: { 'acc,none': { difference: 0.05, stderr: 0.01, significant: true } } },
      },
    ]);
    const lines = csv.split('\r\n');
    expect(lines).toEqual([
      'model,task,metric,filter,value,stderr,difference,difference_stderr,significant',
      'base,arc_easy,acc,none,0.5,0.03,,,',
      `"adapter ""v2"", final",arc_easy,acc,none,0.62,0.04,${0.62 - 0.5},${Math.sqrt(0.03 ** 2 + 0.04 ** 2)},true`,
      'paired,arc_easy,acc,none,0.55,0.04,0.05,0.01,true',
      '',
    ]);
  });
});
