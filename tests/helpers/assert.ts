import { expect } from 'vitest';
import { compare, describeComparison, type Tolerance } from '../../src/engine/selftest/compare';
import type { CheckOutcome, KernelCheck } from '../../src/engine/selftest/types';
import type { GpuContext } from '../../src/engine/gpu/context';

/** Fails with the worst element named when any element is outside atol + rtol * |expected|. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label = 'values'): number {
  const c = compare(actual, expected, tol);
  if (!c.pass) expect.fail(describeComparison(label, c, tol));
  return c.maxAbsError;
}

export function expectOutcomes(outcomes: CheckOutcome[]): void {
  expect(outcomes.length).toBeGreaterThan(0);
  const failed = outcomes.filter((o) => !o.pass);
  if (failed.length) expect.fail(failed.map((o) => o.detail).join('\n'));
}

/** Runs a self-test check twice: every outcome must pass, and both runs must give bitwise-equal outputs. */
export async function runCheck(ctx: GpuContext, check: KernelCheck): Promise<void> {
  const first = await check.run(ctx);
  expectOutcomes(first);
  const second = await check.run(ctx);
  expect(second.map((o) => `${o.label} ${o.digest}`)).toEqual(first.map((o) => `${o.label} ${o.digest}`));
}

/** max |actual - expected| / max |expected| over one tensor (their lengths must agree). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

/** The worst relativeError over rows of `rowLength` values (the model tests' "of each row's largest |logit|"). */
export function worstRowError(actual: ArrayLike<number>, expected: ArrayLike<number>, rowLength: number): number {
  expect(actual.length).toBe(expected.length);
  expect(expected.length % rowLength).toBe(0);
  expect(expected.length).toBeGreaterThan(0);
  let worst = 0;
  for (let at = 0; at < expected.length; at += rowLength) {
    const slice = (a: ArrayLike<number>) => Array.prototype.slice.call(a, at, at + rowLength) as number[];
    worst = Math.max(worst, relativeError(slice(actual), slice(expected)));
  }
  return worst;
}

/** worstRowError over two lists of rows. */
export function worstRowsError(actual: readonly ArrayLike<number>[], expected: readonly ArrayLike<number>[]): number {
  expect(actual.length).toBe(expected.length);
  expect(expected.length).toBeGreaterThan(0);
  return Math.max(...expected.map((row, r) => worstRowError(actual[r], row, row.length)));
}

/** The message of the error `fn` throws; fails the test when it returns instead (a refusal was expected). */
export function refusalMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}
