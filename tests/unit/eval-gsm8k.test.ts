// GSM8K: the harness's prompt and few-shot layout on the real asset, and answer extraction / exact match
// on tricky outputs, each expected value derived by reading gsm8k.yaml's regexes:
//   strict   "#### (\-?[0-9\.\,]+)"           first match's group
//   flexible "(-?[$0-9.,]{2,})|(-?[0-9]+)"    last match, its non-empty group
//   exact_match: remove ",", "\$", "(?s).*#### ", "\.$" from both sides, then compare ignoring case.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  GSM8K_DEFAULTS,
  flexibleExtractAnswer,
  gsm8kItems,
  gsm8kMetrics,
  harnessExactMatch,
  parseGsm8k,
  scoreGsm8k,
  strictMatchAnswer,
  truncateAtStop,
} from '../../src/engine/eval/suites/gsm8k';

const DATA = resolve(__dirname, '../../../shared/assets/datasets/gsm8k');
const text = (name: string) => readFileSync(resolve(DATA, name), 'utf8');

describe('GSM8K items', () => {
  test('test and train parse whole; 0-shot and k-shot prompts as the harness writes them', () => {
    const test = parseGsm8k(text('test.jsonl'), 'test.jsonl');
    const train = parseGsm8k(text('train.jsonl'), 'train.jsonl');
    expect([test.docs.length, test.errors.length, train.docs.length, train.errors.length]).toEqual([1319, 0, 7473, 0]);

    const [zero] = gsm8kItems(test.docs, { shots: 0, seed: 0, pool: train.docs }, 1);
    expect(zero.context).toBe(
      'Question: Janet\u2019s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. ' +
        "She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?\nAnswer:",
    );
    expect(zero.answer.endsWith('#### 18')).toBe(true);

    const five = gsm8kItems(test.docs, { shots: 5, seed: 1234, pool: train.docs }, 20);
    expect(gsm8kItems(test.docs, { shots: 5, seed: 1234, pool: train.docs }, 20)).toEqual(five);
    for (const item of five) {
      const parts = item.context.split('\n\n');
      // Train answers hold no blank lines, so the 5 examples and the query split cleanly.
      expect(parts.length).toBe(6);
      expect(parts[5]).toBe(`Question: ${item.question}\nAnswer:`);
      for (const example of parts.slice(0, 5)) {
        expect(train.docs.some((d) => example === `Question: ${d.question}\nAnswer: ${d.answer}`)).toBe(true);
      }
    }
  });

  test('bad lines name the line and the field', () => {
    const parsed = parseGsm8k('{"question":"q","answer":"#### 1"}\n{"question":"q"}\nnope\n{"question":"","answer":"a"}', 'mine.jsonl');
    expect(parsed.docs.length).toBe(1);
    expect(parsed.errors.map((e) => [e.line, e.field])).toEqual([
      [2, 'answer'],
      [3, ''],
      [4, 'question'],
    ]);
    expect(parsed.errors[0].message).toBe('mine.jsonl:2: answer must be a non-empty string');
  });

  test('generation is cut at the first of the stop sequences', () => {
    expect(truncateAtStop('x = 5\n#### 5\n\nQuestion: next</s>', GSM8K_DEFAULTS.stop)).toBe('x = 5\n#### 5\n\n');
    expect(truncateAtStop('a</s>b Question:', GSM8K_DEFAULTS.stop)).toBe('a');
    expect(truncateAtStop('no stop here', GSM8K_DEFAULTS.stop)).toBe('no stop here');
    expect(GSM8K_DEFAULTS).toMatchObject({ shots: 5, maxNewTokens: 256, stop: ['Question:', '</s>', '<|im_end|>'] });
  });
});

describe('answer extraction and exact match', () => {
  // [output, reference answer, strict, flexible, strict correct, flexible correct]
  const table: [string, string, string, string, number, number][] = [
    // Commas: both pick "1,234" (flexible's last match; the earlier "1,234." has the sentence's dot); "," removed.
    ['The answer is 1,234.\n#### 1,234', 'So 1234 in all.\n#### 1234', '1,234', '1,234', 1, 1],
    // Negative: "-5" after "#### "; flexible: "5" is one character, too short for group 1, group 2 takes "-5".
    ['#### -5', '#### -5', '-5', '-5', 1, 1],
    // Decimals with a dollar: no "####"; flexible takes "$3.50." whole, "\$" and the final "\." are removed.
    ['The cost is $3.50.', '#### 3.50', '[invalid]', '$3.50.', 0, 1],
    // "3.50" is not "3.5": exact match compares text, not numbers.
    ['#### 3.50', '#### 3.5', '3.50', '3.50', 0, 0],
    // Trailing text after the number.
    ['#### 72 dollars', '#### 72', '72', '72', 1, 1],
    // "$5": flexible group 1 ("$5" has 2 characters); "$" is ignored in the comparison.
    ['It costs $5', '#### 5', '[invalid]', '$5', 0, 1],
    // Several numbers: flexible keeps the last one.
    ['3 + 4 = 7 apples, then 10', '#### 10', '[invalid]', '10', 0, 1],
    ['3 + 4 = 7 apples, then 10', '#### 7', '[invalid]', '10', 0, 0],
    // No answer at all: both fall back to "[invalid]".
    ["I don't know", '#### 4', '[invalid]', '[invalid]', 0, 0],
    ['', '#### 4', '[invalid]', '[invalid]', 0, 0],
    // "#### 72." with a trailing dot: the dot is in the match, "\.$" removes it.
    ['#### 72.', '#### 72', '72.', '72.', 1, 1],
    // Two "####": strict takes the first, flexible the last.
    ['#### 5\n#### 6', '#### 5', '5', '6', 1, 0],
    // An ellipsis after the answer is itself a flexible match ("..."), and it is the last one.
    ['The answer is 42. Hmm...', '#### 42', '[invalid]', '...', 0, 0],
    // No space after "####": strict needs "#### " and fails, flexible finds "72".
    ['####72', '#### 72', '[invalid]', '72', 0, 1],
    // A negative in running text.
    ['So she has -3 left.', '#### -3', '[invalid]', '-3', 0, 1],
    // Thousands and decimals together: "1,234,567.00" loses its commas, not its ".00".
    ['#### 1,234,567.00', '#### 1234567', '1,234,567.00', '1,234,567.00', 0, 0],
  ];

  test.each(table)('%j vs %j', (output, reference, strict, flexible, strictCorrect, flexibleCorrect) => {
    expect(strictMatchAnswer(output)).toBe(strict);
    expect(flexibleExtractAnswer(output)).toBe(flexible);
    expect(scoreGsm8k(output, reference)).toEqual({ strict, flexible, strictCorrect, flexibleCorrect });
  });

  test('the reference loses everything up to its last "#### " (the (?s) flag spans lines)', () => {
    expect(harnessExactMatch('18', 'She makes 9 * 2 = $<<9*2=18>>18.\n#### 18', GSM8K_DEFAULTS.exactMatch)).toBe(1);
    // Python's "$" also matches before a final newline, so "\.$" strips the dot of "18.\n" too.
    expect(harnessExactMatch('18.\n', '18\n', GSM8K_DEFAULTS.exactMatch)).toBe(1);
    // ignore_case applies; punctuation is not ignored for GSM8K.
    expect(harnessExactMatch('ABC', 'abc', GSM8K_DEFAULTS.exactMatch)).toBe(1);
    expect(harnessExactMatch('1-2', '12', GSM8K_DEFAULTS.exactMatch)).toBe(0);
    expect(harnessExactMatch('1-2', '12', { ...GSM8K_DEFAULTS.exactMatch, ignorePunctuation: true })).toBe(1);
  });

  test('metrics under the harness keys with mean_stderr', () => {
    const results = [scoreGsm8k('#### 18', '#### 18'), scoreGsm8k('18', '#### 18'), scoreGsm8k('x', '#### 18')];
    const scores = gsm8kMetrics(results);
    // strict: 1, 0, 0 -> mean 1/3, sample std sqrt(((2/3)^2 + 2 (1/3)^2) / 2) = sqrt(1/3), / sqrt(3) = 1/3.
    expect(scores['exact_match,strict-match'].value).toBeCloseTo(1 / 3, 15);
    expect(scores['exact_match,strict-match'].stderr).toBeCloseTo(1 / 3, 15);
    // flexible: 1, 1, 0 -> mean 2/3, same stderr.
    expect(scores['exact_match,flexible-extract'].value).toBeCloseTo(2 / 3, 15);
    expect(scores['exact_match,flexible-extract'].stderr).toBeCloseTo(1 / 3, 15);
  });
});
