// The reference of LoRA dropout's counter-based mask: whether element i of a module's (N, in) input is kept
// is a pure function of (seed, step, micro-batch, module, i), so the GPU draws it without any RNG state, the
// backward recomputes the same mask instead of saving it, and this CPU code reproduces it bit for bit.
//
//   key  = mix(mix(mix(mix(SALT, seed), step), micro), module)            on the host
//   h(i) = hash(hash(i + key) ^ key)                                     per element (u32 arithmetic)
//   kept = h(i) >= threshold, threshold = round(p * 2^32);  kept values are multiplied by f32(1 / (1 - p)).
//
// hash is Chris Wellons' "lowbias32" integer finaliser (a bijection with good avalanche).

import type { Vec } from './types';

const SALT = 0x4c6f5241; // "LoRA"
const GOLDEN = 0x9e3779b9;

/** lowbias32: x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16 (mod 2^32). */
export function hash32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function mix(h: number, value: number): number {
  return hash32(((h ^ value) + GOLDEN) >>> 0);
}

export interface DropoutStream {
  seed: number;
  /** Optimizer step (or any counter that changes every step). */
  step: number;
  /** Micro-batch within the step. */
  micro: number;
  /** Module index within the adapter. */
  module: number;
}

/** The per-stream key the kernel receives (u32). */
export function dropoutKey(s: DropoutStream): number {
  for (const [name, v] of Object.entries(s)) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`dropout ${name} must be a u32, got ${v}`);
  }
  return mix(mix(mix(mix(SALT, s.seed), s.step), s.micro), s.module);
}

/** u32 threshold: an element is dropped when its hash is below it. */
export function dropoutThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout probability must be in [0, 1), got ${p}`);
  return Math.min(0xffffffff, Math.round(p * 2 ** 32));
}

/** The factor kept elements are multiplied by, as the f32 the kernel uses. */
export function dropoutScale(p: number): number {
  return Math.fround(1 / (1 - p));
}

/** Whether element `index` survives under `key` and `threshold`. */
export function dropoutKept(key: number, index: number, threshold: number): boolean {
  return hash32(hash32((index + key) >>> 0) ^ key) >= threshold;
}

/**
 * The mask values (0 or dropoutScale(p)) of elements [first, first + count) of a stream: for a sequence
 * occupying rows [row0, row0 + T) of an (N, in) input, first = row0 * in and count = T * in.
 */
export function dropoutMask(p: number, key: number, first: number, count: number): Float64Array {
  const threshold = dropoutThreshold(p);
  const scale = dropoutScale(p);
  const mask = new Float64Array(count);
  for (let i = 0; i < count; i++) mask[i] = dropoutKept(key, first + i, threshold) ? scale : 0;
  return mask;
}

/** out = x * mask (or out += that with accumulate) over x.length elements, in the precision of `out`. */
export function dropoutForward(out: Vec, x: Vec, p: number, key: number, accumulate = false): void {
  const mask = dropoutMask(p, key, 0, x.length);
  for (let i = 0; i < x.length; i++) {
    const y = out instanceof Float32Array ? Math.fround(x[i] * mask[i]) : x[i] * mask[i];
    out[i] = accumulate ? out[i] + y : y;
  }
}
