// Seeded mutation fuzzing for the parsers of files a user (or the internet) hands us: each case mutates a
// valid file (bit flips, byte edits, truncation, duplicated or deleted runs, boundary numbers written into
// it), runs the parser, and sorts the outcome into a valid result, a typed refusal, or a failure (any other
// exception, or a case slower than the time limit). Synchronous parsers cannot be interrupted, so the time
// limit is checked after each case: a hang shows up as the test's own timeout, a slow case as a failure.

import { Rng } from '../../src/engine/util/rng';

/** Byte runs worth writing into numeric and length fields: zero, signs, powers of two at integer limits. */
const BOUNDARY_TEXT = ['0', '-1', '1e309', 'NaN', '4294967296', '9007199254740993', '-0', '""', 'null', '[]', '{}'];
const BOUNDARY_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x7d, 0x2c, 0x0a];

/** One mutation of `input` (never the same array): up to `maxEdits` edits chosen by `rng`. */
export function mutate(input: Uint8Array, rng: Rng, maxEdits = 4): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array = input.slice();
  const edits = 1 + Math.floor(rng.next() * maxEdits);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rng.next() * Math.max(1, bytes.length));
    switch (Math.floor(rng.next() * 7)) {
      case 0: // flip one bit
        if (bytes.length > 0) bytes[at] ^= 1 << Math.floor(rng.next() * 8);
        break;
      case 1: // set a byte to a boundary value
        if (bytes.length > 0) bytes[at] = BOUNDARY_BYTES[Math.floor(rng.next() * BOUNDARY_BYTES.length)];
        break;
      case 2: // truncate
        bytes = bytes.slice(0, at);
        break;
      case 3: { // delete a run
        const len = 1 + Math.floor(rng.next() * 16);
        bytes = concat(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + len)));
        break;
      }
      case 4: { // duplicate a run
        const len = 1 + Math.floor(rng.next() * 32);
        const run = bytes.slice(at, at + len);
        bytes = concat(bytes.subarray(0, at), run, bytes.subarray(at));
        break;
      }
      case 5: { // overwrite with a boundary number's text
        const text = new TextEncoder().encode(BOUNDARY_TEXT[Math.floor(rng.next() * BOUNDARY_TEXT.length)]);
        bytes = concat(bytes.subarray(0, at), text, bytes.subarray(Math.min(bytes.length, at + text.length)));
        break;
      }
      default: { // overwrite 4 bytes with a little-endian boundary integer (binary length fields)
        const values = [0, 0xffffffff, 0x7fffffff, 0x80000000, bytes.length, bytes.length + 1];
        const v = values[Math.floor(rng.next() * values.length)];
        for (let i = 0; i < 4 && at + i < bytes.length; i++) bytes[at + i] = (v >>> (8 * i)) & 0xff;
      }
    }
  }
  return bytes as Uint8Array<ArrayBuffer>;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface FuzzSummary {
  readonly cases: number;
  readonly accepted: number;
  readonly refused: number;
  /** The slowest case in milliseconds. */
  readonly slowestMs: number;
}

export interface FuzzOptions {
  readonly seed: number;
  readonly cases: number;
  /** A case slower than this fails the run (ms). */
  readonly caseLimitMs: number;
  /** Whether an error is one of the parser's typed refusals (anything else is a crash). */
  readonly isRefusal: (err: unknown) => boolean;
  readonly maxEdits?: number;
}

/**
 * Runs `parse` on `options.cases` mutations of the seeds (round robin) and throws on the first crash or slow
 * case, naming the seed, the case and the mutated bytes' length so it can be replayed.
 */
export async function fuzz(
  seeds: readonly Uint8Array[],
  parse: (bytes: Uint8Array) => unknown,
  options: FuzzOptions,
): Promise<FuzzSummary> {
  const rng = new Rng(options.seed);
  let accepted = 0;
  let refused = 0;
  let slowestMs = 0;
  for (let c = 0; c < options.cases; c++) {
    const seedIndex = c % seeds.length;
    const bytes = mutate(seeds[seedIndex], rng, options.maxEdits);
    const t0 = performance.now();
    try {
      await parse(bytes);
      accepted++;
    } catch (err) {
      if (!options.isRefusal(err)) {
        const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        throw new Error(`fuzz seed ${options.seed}, case ${c} (input ${seedIndex}, ${bytes.length} bytes) crashed: ${what}`);
      }
      refused++;
    }
    const ms = performance.now() - t0;
    slowestMs = Math.max(slowestMs, ms);
    if (ms > options.caseLimitMs) {
      throw new Error(`fuzz seed ${options.seed}, case ${c} (input ${seedIndex}) took ${ms.toFixed(0)} ms (limit ${options.caseLimitMs})`);
    }
  }
  return { cases: options.cases, accepted, refused, slowestMs };
}
