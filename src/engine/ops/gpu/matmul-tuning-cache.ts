// A device's matmul tuning from a cache (IndexedDB in the studio's worker, a JSON file for the CLI), or
// measured once and stored there: the "autotune on first use". A cached record counts only for the same
// adapter key and kernels version; anything else is a miss (and is replaced by the new measurement).

import type { GpuContext } from '../../gpu/context';
import { autotuneMatmul, type MatmulAutotuneOptions } from './matmul-autotune';
import { MATMUL_VARIANTS } from './matmul-kernels';
import { activateMatmulTuning, contextAdapterKey, tuningMismatch, type MatmulTuning } from './matmul-tuning';

/** Where records live, one per adapter key. */
export interface MatmulTuningStore {
  get(adapterKey: string): Promise<MatmulTuning | undefined>;
  put(record: MatmulTuning): Promise<void>;
}

export interface EnsureTuningOptions {
  /** Measure again even when the cache holds a valid record. */
  retune?: boolean;
  /** Only use a cached record: never measure (no tuning when none fits). */
  cachedOnly?: boolean;
  tune?: MatmulAutotuneOptions;
  /** Called before measuring, with why the cache did not serve (for a progress line). */
  onTuning?: (why: string) => void;
}

export type EnsuredTuning =
  | { source: 'cache' | 'tuned'; record: MatmulTuning }
  | { source: 'none'; why: string };

/** Activates the cached record if it fits this device, else (unless cachedOnly) tunes, stores and activates. */
export async function ensureMatmulTuning(ctx: GpuContext, store: MatmulTuningStore, options: EnsureTuningOptions = {}): Promise<EnsuredTuning> {
  let why = 'asked to measure again';
  if (!options.retune) {
    const cached = await store.get(contextAdapterKey(ctx));
    const mismatch = cached ? tuningMismatch(ctx, cached) : 'none is cached for this adapter';
    if (cached && !mismatch) {
      activateMatmulTuning(ctx, cached);
      return { source: 'cache', record: cached };
    }
    why = mismatch!;
    if (options.cachedOnly) return { source: 'none', why };
  }
  options.onTuning?.(why);
  const record = await autotuneMatmul(ctx, options.tune);
  await store.put(record);
  activateMatmulTuning(ctx, record);
  return { source: 'tuned', record };
}

function fail(where: string, field: string, want: string): never {
  throw new Error(`${where}: field "${field}" must be ${want}`);
}

/** Checks that `value` (read from a file or a database) has a MatmulTuning's shape; errors name the field. */
export function checkMatmulTuning(value: unknown, where: string): MatmulTuning {
  const r = value as Record<string, unknown> | null;
  if (typeof r !== 'object' || r === null) fail(where, '(record)', 'an object');
  for (const key of ['adapterKey', 'kernelsVersion', 'tunedAt', 'profile'] as const) {
    if (typeof r[key] !== 'string') fail(where, key, 'a string');
  }
  if (r.profile !== 'full' && r.profile !== 'small') fail(where, 'profile', '"full" or "small"');
  for (const key of ['budgetS', 'elapsedS'] as const) if (typeof r[key] !== 'number') fail(where, key, 'a number');
  if (!Array.isArray(r.classes)) fail(where, 'classes', 'an array');
  r.classes.forEach((c: unknown, i: number) => {
    const at = `classes[${i}]`;
    const cls = c as Record<string, unknown> | null;
    if (typeof cls !== 'object' || cls === null) fail(where, at, 'an object');
    for (const key of ['id', 'label'] as const) if (typeof cls[key] !== 'string') fail(where, `${at}.${key}`, 'a string');
    if (cls.bFormat !== 'f32' && cls.bFormat !== 'f16') fail(where, `${at}.bFormat`, '"f32" or "f16"');
    for (const key of ['choice', 'rule'] as const) {
      if (typeof cls[key] !== 'string' || !Object.hasOwn(MATMUL_VARIANTS, cls[key])) fail(where, `${at}.${key}`, 'a matmul variant name');
    }
    if (!Array.isArray(cls.products)) fail(where, `${at}.products`, 'an array');
    if (!Array.isArray(cls.candidates)) fail(where, `${at}.candidates`, 'an array');
    cls.candidates.forEach((cand: unknown, j: number) => {
      const cc = cand as Record<string, unknown> | null;
      if (typeof cc !== 'object' || cc === null || typeof cc.variant !== 'string') fail(where, `${at}.candidates[${j}].variant`, 'a string');
      if (cc.gflops !== null && typeof cc.gflops !== 'number') fail(where, `${at}.candidates[${j}].gflops`, 'a number or null');
    });
  });
  return value as MatmulTuning;
}
