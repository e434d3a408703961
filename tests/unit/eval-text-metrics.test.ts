// Generation metrics: SQuAD-normalised exact match and contains, regex rate, rouge_score's ROUGE-L,
// Python-regex translation and the harness's mean_stderr.

import { describe, expect, test } from 'vitest';
import { mean, meanStderr, meanWithStderr, sampleStddev } from '../../src/engine/eval/metrics/mean-stderr';
import { pythonRegex, pythonRemoveAll } from '../../src/engine/eval/metrics/python-regex';
import { lcsLength, rougeL, rougeTokens } from '../../src/engine/eval/metrics/rouge-l';
import { compileUserRegex, containsReference, exactMatch, normalizeAnswer, regexMatchRate } from '../../src/engine/eval/metrics/text-metrics';

describe('SQuAD normalisation', () => {
  test('lower-case, no punctuation, no articles, single spaces', () => {
    expect(normalizeAnswer('  The Eiffel-Tower, in  Paris!  ')).toBe('eiffeltower in paris');
    expect(normalizeAnswer('An apple a day')).toBe('apple day');
    // Articles only as whole words (Unicode-aware like Python's \b): "théa" and "anthem" keep their letters.
    expect(normalizeAnswer('théa anthem a')).toBe('théa anthem');
    expect(exactMatch('The  Paris!', 'paris')).toBe(1);
    expect(exactMatch('The answer: Paris.', 'paris')).toBe(0);
    expect(exactMatch('Paris, France', 'Paris')).toBe(0);
  });

  test('contains: the normalised reference as whole words of the output', () => {
    expect(containsReference('I think the answer is Paris, France.', 'paris')).toBe(1);
    expect(containsReference('It is 42.', '4')).toBe(0);
    expect(containsReference('anything', '  the ')).toBe(0);
  });

  test('regex match rate and a clear error for a bad pattern', () => {
    const re = compileUserRegex('^\\{.*\\}$', 'gs');
    expect(regexMatchRate(['{"a":1}', 'x {}', '{\n}'], re)).toBeCloseTo(2 / 3, 15);
    expect(() => compileUserRegex('(')).toThrow('regex /(/ is not valid');
  });
});

describe('ROUGE-L as rouge_score computes it', () => {
  test('tokenizer: lower-case, non [a-z0-9] runs become spaces', () => {
    expect(rougeTokens("The cat's hat, 2024-05!  Café")).toEqual(['the', 'cat', 's', 'hat', '2024', '05', 'caf']);
  });

  test('hand-computed precision, recall and F', () => {
    // target "the cat sat on the mat" (6), prediction "the cat lay on a mat" (6): LCS the cat on mat = 4.
    const s = rougeL('the cat sat on the mat', 'The cat lay on a mat.');
    expect(s.precision).toBeCloseTo(4 / 6, 15);
    expect(s.recall).toBeCloseTo(4 / 6, 15);
    expect(s.fmeasure).toBeCloseTo(4 / 6, 15);
    // target 4 tokens, prediction 2 tokens both in order: P = 1, R = 0.5, F = 2/3.
    const t = rougeL('a b c d', 'b d');
    expect([t.precision, t.recall]).toEqual([1, 0.5]);
    expect(t.fmeasure).toBeCloseTo(2 / 3, 15);
    // Order matters: LCS of "a b c" and "c b a" is 1.
    expect(lcsLength(['a', 'b', 'c'], ['c', 'b', 'a'])).toBe(1);
    expect(rougeL('', 'x')).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
    expect(rougeL('x y', 'z')).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
  });
});

describe('Python regexes', () => {
  test('(?s) and Python "$" (end or before a final newline)', () => {
    expect(pythonRemoveAll('(?s).*#### ', 'a\nb\n#### 12')).toBe('12');
    expect(pythonRemoveAll('.*#### ', 'a\nb\n#### 12')).toBe('a\nb\n12');
    expect(pythonRemoveAll('\\.$', '12.\n')).toBe('12\n');
    expect(pythonRemoveAll('\\.$', '1.2.')).toBe('1.2');
    expect(pythonRemoveAll('[$]', '$5$')).toBe('5');
    expect(pythonRemoveAll('x\\Z', 'x\nx')).toBe('x\n');
    expect(pythonRegex('(?P<n>a)(?P=n)').test('aa')).toBe(true);
    expect(() => pythonRegex('(?x)a')).toThrow('inline flag (?x) is not supported');
  });
});

describe('mean and stderr', () => {
  test('mean_stderr = sample std (ddof 1) / sqrt(n), no stderr for one item', () => {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum 32, / 7, sqrt = 2.138..., / sqrt(8).
    const v = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(v)).toBe(5);
    expect(sampleStddev(v)).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(meanStderr(v)).toBeCloseTo(Math.sqrt(32 / 7) / Math.sqrt(8), 14);
    expect(meanWithStderr([0.5])).toEqual({ value: 0.5 });
    expect(() => mean([])).toThrow('mean of no values');
  });
});
