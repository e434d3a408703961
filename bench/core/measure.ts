// Wall-clock timing shared by our kernels and the peer.
//
// A measurement is: a warm-up (pipeline compilation, lazy buffer clears, first uploads), one timed single
// run, then timed repetitions of r back-to-back runs each (r chosen so a repetition lasts about
// targetRepS), each repetition being "enqueue r runs, submit, await queue.onSubmittedWorkDone()". The
// result keeps every sample (seconds per run) and reports the best (minimum) and the median; the bench
// prints the best. Repetitions stop when the next one would overrun the budget, or after maxSamples.
//
// The warm-up is normally one full run. For a product too long to run twice cheaply the caller may warm
// up on a smaller proxy (the same kernel on a slice); if the first timed run still compiled a pipeline
// (the `compiled` counter moved), that run is counted as warm-up and the run is timed again.

import type { Timing } from './types';

export interface TimingPolicy {
  budgetS: number;
  targetRepS: number;
  maxR: number;
  maxSamples: number;
}

/** `run(r)` enqueues r runs and resolves once the device has finished all of them. */
export type Runner = (r: number) => Promise<void>;

export interface TimingHooks {
  /** Replaces the default warm-up, run(1). */
  warmup?: () => Promise<void>;
  /** A number that changes whenever a pipeline is compiled (e.g. the pipeline cache size). */
  compiled?: () => number;
  /** Runs once after the first timed run, when the output holds a finished product (untimed). */
  verify?: () => Promise<void>;
}

export const now = (): number => performance.now() / 1000;

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** An error as the bench's logs and reports show it: "Name: message". */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export async function timeRuns(run: Runner, policy: TimingPolicy, hooks: TimingHooks = {}): Promise<Timing> {
  let t = now();
  await (hooks.warmup ? hooks.warmup() : run(1));
  let warmupS = now() - t;

  const before = hooks.compiled?.();
  t = now();
  await run(1);
  let first = now() - t;
  if (hooks.compiled && hooks.compiled() !== before) {
    warmupS += first;
    t = now();
    await run(1);
    first = now() - t;
  }
  if (hooks.verify) await hooks.verify();

  const samples = [first];
  const r = Math.max(1, Math.min(policy.maxR, Math.round(policy.targetRepS / Math.max(first, 1e-6))));
  const start = now();
  while (samples.length < policy.maxSamples) {
    const spent = first + (now() - start);
    const next = r * Math.min(...samples);
    if (spent + next > policy.budgetS) break;
    t = now();
    await run(r);
    samples.push((now() - t) / r);
  }
  return { warmupS, r, samples, bestS: Math.min(...samples), medianS: median(samples) };
}

export const gflops = (flops: number, seconds: number): number => flops / seconds / 1e9;

/** Above this projected time per product, warm up on a proxy instead of a full extra run. */
export const PROXY_WARMUP_ABOVE_S = 4;

/** The proxy's column count: about an eighth of n, a multiple of 64 (the whole n when that is small). */
export function proxyColumns(n: number): number {
  return Math.max(64, Math.min(n, Math.round(n / 8 / 64) * 64));
}

/** A measurement that did not finish in time: some GPU call never returned. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/** Rejects with DeadlineError when `p` is not settled after `seconds` (no limit when not finite). */
export function withDeadline<T>(p: Promise<T>, seconds: number, what: string): Promise<T> {
  if (!Number.isFinite(seconds)) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeadlineError(`${what} did not finish within ${Math.round(seconds)} s (a GPU call never returned)`)),
      seconds * 1000,
    );
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

/** How long one product's whole measurement (warm-up, timed runs, check) may take before it counts as hung. */
export function productDeadlineS(maxRunS: number, budgetS: number): number {
  return Number.isFinite(maxRunS) ? 3 * maxRunS + budgetS + 30 : Infinity;
}
