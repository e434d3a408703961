// Runs kernel self-checks one after another on one device. A check that throws (a WGSL compile error,
// a validation error, a bug in the check) fails on its own; the remaining checks still run.

import type { GpuContext } from '../gpu/context';
import type { KernelCheck, KernelCheckResult } from './types';

export interface SelfTestProgress {
  /** 0-based index of the check this event is about. */
  index: number;
  total: number;
  name: string;
  /** 'start': the check begins; 'done': `result` holds its outcome. */
  phase: 'start' | 'done';
  result?: KernelCheckResult;
}

export type SelfTestProgressCallback = (progress: SelfTestProgress) => void | Promise<void>;

const now = (): number => globalThis.performance.now();

export async function runKernelCheck(ctx: GpuContext, check: KernelCheck): Promise<KernelCheckResult> {
  const t0 = now();
  let outcomes: KernelCheckResult['outcomes'] = [];
  let error: string | undefined;
  try {
    // The guard's error scopes pin a validation or out-of-memory error on the check that caused it.
    await ctx.guard(async () => {
      outcomes = await check.run(ctx);
    });
  } catch (err) {
    error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  const ms = now() - t0;
  if (!error && outcomes.length === 0) error = 'The check compared nothing (no outcomes).';
  // NaN when nothing was measured, so a failed check never shows a reassuring 0.
  const maxAbsError = outcomes.length ? Math.max(...outcomes.map((o) => o.maxAbsError)) : NaN;
  const pass = !error && outcomes.every((o) => o.pass);
  const result: KernelCheckResult = { name: check.name, pass, maxAbsError, ms, outcomes };
  if (error) result.error = error;
  return result;
}

export async function runKernelChecks(
  ctx: GpuContext,
  checks: readonly KernelCheck[],
  onProgress?: SelfTestProgressCallback,
): Promise<KernelCheckResult[]> {
  const results: KernelCheckResult[] = [];
  const total = checks.length;
  for (const [index, check] of checks.entries()) {
    report(onProgress, { index, total, name: check.name, phase: 'start' });
    const result = await runKernelCheck(ctx, check);
    results.push(result);
    report(onProgress, { index, total, name: check.name, phase: 'done', result });
  }
  return results;
}

/** Progress is advisory: a listener that throws or rejects (a closed page) never stops the checks. */
function report(onProgress: SelfTestProgressCallback | undefined, progress: SelfTestProgress): void {
  if (!onProgress) return;
  try {
    void Promise.resolve(onProgress(progress)).catch(() => undefined);
  } catch {
    // ignored, see above
  }
}
