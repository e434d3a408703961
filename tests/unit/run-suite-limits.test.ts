import { describe, expect, it } from 'vitest';
import { MAX_RUN_SUITE_ITEMS, runSuitesProblem } from '../../src/worker/run-suite-limits';

describe('a run\'s attached eval suites', () => {
  const suite = (id: string, limit: number) => ({ id, name: `suite ${id}`, limit });

  it('accepts distinct suites with limits from 1 to the maximum', () => {
    expect(runSuitesProblem([])).toBeNull();
    expect(runSuitesProblem([suite('a', 1), suite('b', MAX_RUN_SUITE_ITEMS)])).toBeNull();
  });

  it('names the suite attached twice or with a limit out of range', () => {
    expect(runSuitesProblem([suite('a', 5), suite('a', 6)])).toBe('The eval suite "suite a" is attached twice.');
    for (const bad of [0, MAX_RUN_SUITE_ITEMS + 1, 2.5, Number.NaN]) {
      expect(runSuitesProblem([suite('a', 5), suite('b', bad)])).toBe(`Items per evaluation of the suite "suite b" must be a whole number from 1 to ${MAX_RUN_SUITE_ITEMS}.`);
    }
  });
});
