import { compare, describeComparison, type Tolerance } from './compare';
import type { CheckOutcome } from './types';

/** FNV-1a over the float32 bit patterns: equal digests mean bitwise-equal outputs (determinism checks). */
export function digestF32(values: ArrayLike<number>): string {
  const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
  const words = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) {
    h = Math.imul(h ^ words[i], 0x01000193) >>> 0;
  }
  return `${h.toString(16).padStart(8, '0')}:${words.length}`;
}

/** Compares a GPU result with its reference and phrases the outcome for reports and test failures. */
export function outcome(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): CheckOutcome {
  const c = compare(actual, expected, tol);
  return {
    label,
    pass: c.pass,
    maxAbsError: c.maxAbsError,
    detail: describeComparison(label, c, tol),
    digest: digestF32(actual),
  };
}
