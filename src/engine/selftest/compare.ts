// Elementwise comparison |actual - expected| <= atol + rtol * |expected|, reporting the worst element.

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface Comparison {
  pass: boolean;
  /** Largest |actual - expected|. */
  maxAbsError: number;
  /** Index whose error is furthest over its allowance (or the largest error when all pass). */
  worstIndex: number;
  actual: number;
  expected: number;
  /** True when the output is all zeros although the reference is not: a backend that computes nothing. */
  allZero: boolean;
  /** Number of elements compared. */
  count: number;
}

export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): Comparison {
  if (actual.length !== expected.length) {
    throw new Error(`length mismatch: actual ${actual.length}, expected ${expected.length}`);
  }
  let maxAbsError = 0;
  let worstIndex = 0;
  let worstExcess = -Infinity;
  let pass = true;
  let anyNonZero = false;
  let refNonZero = false;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a !== 0) anyNonZero = true;
    if (e !== 0) refNonZero = true;
    const err = Math.abs(a - e);
    const allowed = tol.atol + tol.rtol * Math.abs(e);
    // NaN compares false everywhere: count it as an unbounded error unless both are NaN.
    const excess = Number.isNaN(err) ? (Number.isNaN(a) && Number.isNaN(e) ? -Infinity : Infinity) : err - allowed;
    if (excess > 0) pass = false;
    if (!Number.isNaN(err) && err > maxAbsError) maxAbsError = err;
    if (excess > worstExcess) {
      worstExcess = excess;
      worstIndex = i;
    }
  }
  const allZero = refNonZero && !anyNonZero;
  if (allZero) pass = false;
  return {
    pass,
    maxAbsError,
    worstIndex,
    actual: actual[worstIndex],
    expected: expected[worstIndex],
    allZero,
    count: expected.length,
  };
}

export function describeComparison(label: string, c: Comparison, tol: Tolerance): string {
  const head = `${label}: ${c.pass ? 'ok' : 'MISMATCH'} max|err|=${c.maxAbsError.toExponential(3)} (atol ${tol.atol}, rtol ${tol.rtol})`;
  const worst = `worst [${c.worstIndex}] got ${c.actual} want ${c.expected}`;
  return `${head}; ${worst}${c.allZero ? '; output is all zeros' : ''} over ${c.count} elements`;
}
