import { compare, describeComparison, type Tolerance } from './compare';
import type { CheckOutcome } from './types';

/** Compares a GPU result with its reference and phrases the outcome for reports and test failures. */
export function outcome(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): CheckOutcome {
  const c = compare(actual, expected, tol);
  return { label, pass: c.pass, maxAbsError: c.maxAbsError, detail: describeComparison(label, c, tol) };
}
