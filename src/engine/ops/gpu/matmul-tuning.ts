// The result of a matmul autotune (matmul-autotune.ts) and how the dispatcher uses it: a record per adapter
// (kept by the worker in IndexedDB and by the CLI in its cache folder), valid while the adapter and the
// kernels are the same, turned into a per-slot table that matmul.ts reads with one array index.

import type { GpuAdapterSummary } from '../../gpu/adapter-info';
import type { GpuContext } from '../../gpu/context';
import { WIDEN_KERNEL, MATMUL_VARIANTS, type MatmulVariantName } from './matmul-kernels';
import { classSlots, MATMUL_CLASSES, MATMUL_SLOTS, matmulSlot, type TunedProduct, type TuneProfile } from './matmul-classes';

/** Bumped when the record's meaning changes without any WGSL change (the timing method, the rule). */
const TUNING_FORMAT = 1;

export interface MatmulCandidate {
  variant: MatmulVariantName;
  /** The class's products' FLOPs over the best time of one pass over them; null when it did not finish. */
  gflops: number | null;
  /** Why it has no figure or was not eligible: 'wrong result (...)', an error, 'stopped: ...'. */
  note?: string;
}

export interface MatmulClassTuning {
  /** MatmulClass.id. */
  id: string;
  label: string;
  /** The products timed together (their times summed). */
  products: TunedProduct[];
  bFormat: 'f32' | 'f16';
  /** The fastest candidate that matched the rule's own variant's output. */
  choice: MatmulVariantName;
  /** What the default rule picks for these products (timed first, the reference output). */
  rule: MatmulVariantName;
  candidates: MatmulCandidate[];
}

export interface MatmulTuning {
  /** matmulAdapterKey of the device it was measured on. */
  adapterKey: string;
  /** matmulKernelsVersion() when it was measured: a kernel change invalidates the record. */
  kernelsVersion: string;
  /** ISO time. */
  tunedAt: string;
  profile: TuneProfile;
  budgetS: number;
  /** Wall time the autotune took. */
  elapsedS: number;
  classes: MatmulClassTuning[];
}

/** The tuning a device runs with: the record and its choice per slot (undefined: the default rule). */
export interface ActiveMatmulTuning {
  readonly record: MatmulTuning;
  readonly slots: readonly (MatmulVariantName | undefined)[];
}

/** FNV-1a (32 bits) of a string's UTF-16 code units, as 8 hex digits. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** The device features the variants depend on (a device made without shader-f16 tunes apart). */
export interface KernelFeatures {
  shaderF16: boolean;
  subgroups: boolean;
}

/**
 * "vendor / architecture / device / description #hash": the identity the adapter reports (the description
 * carries the driver and its version, e.g. "SwiftShader driver 5.0.0") and a hash of that identity with the
 * kernel-relevant features, so a driver update or a device without shader-f16 is another key.
 */
export function matmulAdapterKey(adapter: GpuAdapterSummary, features: KernelFeatures): string {
  const identity = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].join(' / ');
  const featureList = `${features.shaderF16 ? 'shader-f16' : ''},${features.subgroups ? 'subgroups' : ''},${adapter.isFallbackAdapter ? 'fallback' : ''}`;
  return `${identity} #${fnv1a(`${identity}|${featureList}`)}`;
}

export function contextAdapterKey(ctx: GpuContext): string {
  return matmulAdapterKey(ctx.adapter, { shaderF16: ctx.hasShaderF16, subgroups: ctx.hasSubgroups });
}

let kernelsVersion: string | undefined;

/** A hash of every matmul variant's WGSL and entry point, the widening kernel and the shape classes. */
export function matmulKernelsVersion(): string {
  if (kernelsVersion === undefined) {
    const variants = Object.values(MATMUL_VARIANTS).map((v) => `${v.name}:${v.kernel.name}:${v.kernel.entryPoint}:${Boolean(v.widenB)}\n${v.kernel.source}`);
    const parts = [`format ${TUNING_FORMAT}`, ...variants, WIDEN_KERNEL.source, JSON.stringify(MATMUL_CLASSES)];
    kernelsVersion = fnv1a(parts.join('\n\u0000'));
  }
  return kernelsVersion;
}

/** Why `record` cannot run on `ctx` (another adapter, older kernels, a variant the device lacks), or null. */
export function tuningMismatch(ctx: GpuContext, record: MatmulTuning): string | null {
  return recordMismatch(record, contextAdapterKey(ctx), { shaderF16: ctx.hasShaderF16, subgroups: ctx.hasSubgroups });
}

/** tuningMismatch for a device known by its key and features (the CLI's `info` makes no device). */
export function recordMismatch(record: MatmulTuning, adapterKey: string, features: KernelFeatures): string | null {
  if (record.adapterKey !== adapterKey) return `it was measured on another adapter (${record.adapterKey}, this is ${adapterKey})`;
  if (record.kernelsVersion !== matmulKernelsVersion()) {
    return `it was measured with other kernels (version ${record.kernelsVersion}, now ${matmulKernelsVersion()})`;
  }
  for (const c of record.classes) {
    const variant = (MATMUL_VARIANTS as Record<string, (typeof MATMUL_VARIANTS)[MatmulVariantName] | undefined>)[c.choice];
    if (!variant) return `class ${c.id} chose an unknown variant "${c.choice}"`;
    if ((variant.needs === 'subgroups' && !features.subgroups) || (variant.needs === 'shader-f16' && !features.shaderF16)) {
      return `class ${c.id} chose ${c.choice}, which needs ${variant.needs}`;
    }
  }
  return null;
}

/** The per-slot table of a record (classes it does not name keep the rule). */
export function tuningSlots(record: MatmulTuning): (MatmulVariantName | undefined)[] {
  const slots = new Array<MatmulVariantName | undefined>(MATMUL_SLOTS).fill(undefined);
  for (const c of record.classes) {
    const cls = MATMUL_CLASSES.find((k) => k.id === c.id);
    if (!cls) continue;
    for (const slot of classSlots(cls)) slots[slot] = c.choice;
  }
  return slots;
}

/** Makes `record` the device's tuning; throws (naming why) if it does not fit this device. */
export function activateMatmulTuning(ctx: GpuContext, record: MatmulTuning): void {
  const why = tuningMismatch(ctx, record);
  if (why) throw new Error(`matmul tuning: cannot use this record: ${why}`);
  ctx.matmulTuning = { record, slots: tuningSlots(record) };
}

/** The tuned variant for a product, or undefined (no tuning, or a slot no class covers). Integer work only. */
export function tunedVariant(tuning: ActiveMatmulTuning | undefined, m: number, n: number, f16: boolean, transA: boolean): MatmulVariantName | undefined {
  return tuning?.slots[matmulSlot(m, n, f16, transA)];
}
