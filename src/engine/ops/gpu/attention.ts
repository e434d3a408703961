import backwardSource from '../../../../shaders/attention_backward.wgsl?raw';
import deltaSource from '../../../../shaders/attention_delta.wgsl?raw';
import forwardSource from '../../../../shaders/attention_forward.wgsl?raw';
import groupSumSource from '../../../../shaders/attention_group_sum.wgsl?raw';
import paramsSource from '../../../../shaders/attention_params.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, joinWgsl, packParams, type JoinedWgsl, type ParamField } from '../../gpu/kernel';
import { isSoftwareAdapter, type GpuAdapterSummary } from '../../gpu/adapter-info';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import { resolveAttentionDims, type AttentionDims, type ResolvedAttentionDims } from '../cpu/attention';

export type { AttentionDims } from '../cpu/attention';

/** Every attention kernel reads the same Params struct (WGSL has no includes). */
function withParams(file: string, source: string): JoinedWgsl {
  return joinWgsl({ file: 'attention_params.wgsl', source: paramsSource }, { file, source });
}

const FORWARD = defineKernel('attention.forward', withParams('attention_forward.wgsl', forwardSource), 'attention_forward', [
  'read', 'read', 'read', 'write', 'write', 'uniform',
]);
const DELTA = defineKernel('attention.delta', withParams('attention_delta.wgsl', deltaSource), 'attention_delta', ['read', 'read', 'write', 'uniform']);
const BACKWARD_DQ = defineKernel('attention.backward.dq', withParams('attention_backward.wgsl', backwardSource), 'attention_backward_dq', [
  'read', 'read', 'read', 'read', 'read', 'read', 'uniform', 'write',
]);
const BACKWARD_DKDV = defineKernel('attention.backward.dkdv', withParams('attention_backward.wgsl', backwardSource), 'attention_backward_dkdv', [
  'read', 'read', 'read', 'read', 'read', 'read', 'uniform', 'write', 'write',
]);
const BACKWARD_DKDV_SHARED = defineKernel('attention.backward.dkdv_shared', withParams('attention_backward.wgsl', backwardSource), 'attention_backward_dkdv_shared', [
  'read', 'read', 'read', 'read', 'read', 'read', 'uniform', 'write',
]);
const GROUP_SUM = defineKernel('attention.group_sum', withParams('attention_group_sum.wgsl', groupSumSource), 'attention_group_sum', ['read', 'write', 'uniform']);

export const MAX_HEAD_DIM = 128;
/** Workgroup storage every WebGPU device offers (the spec's default limit), so tiles fit everywhere. */
const TILE_BYTES = 16384;
const MAX_TILE = 64; // the forward keeps one chunk's scores in registers (MAX_BK in the shader)
/**
 * Default tiled chunk. On an H100 (Vulkan, D = 64 and 128) chunks of 8, 16 and 32 ran within 5% of each other;
 * 16 leaves room for the backward's extra per-row stats and keeps SwiftShader's compile times short.
 */
const TILED_CHUNK = 16;
const DIRECT_CHUNK = 32;
const ELEMENTWISE_WG = 64;

/**
 * Where a (B, T, H, D) tensor lives inside its buffer, in f32 elements. Heads are always contiguous
 * (head stride D). Defaults: offset 0, rowStride H * D, batchStride T * rowStride. A KV cache of Tmax
 * positions is { batchStride: Tmax * Hkv * D }; GPT-2's fused qkv (B, T, 3C) is q = { offset: 0, rowStride: 3C },
 * k = { offset: C, rowStride: 3C }, v = { offset: 2C, rowStride: 3C }.
 */
export interface TensorLayout {
  offset?: number;
  rowStride?: number;
  batchStride?: number;
}

export interface AttentionForwardLayouts {
  q?: TensorLayout;
  k?: TensorLayout;
  v?: TensorLayout;
  out?: TensorLayout;
}

export interface AttentionBackwardLayouts extends AttentionForwardLayouts {
  dout?: TensorLayout;
  dq?: TensorLayout;
  dk?: TensorLayout;
  dv?: TensorLayout;
}

/**
 * 'tiled': chunks of k/v (or q/dout) are staged in workgroup memory, two barriers per chunk: best on real GPUs.
 * 'direct': every invocation reads storage itself, no barriers and no workgroup memory: best on software
 * adapters, where barriers are slow and pipelines with large workgroup arrays take seconds to compile.
 */
export type AttentionVariant = 'tiled' | 'direct';

export interface AttentionTuning {
  /** Default 'tiled'; see preferredAttentionTuning. */
  variant?: AttentionVariant;
  /** Output rows per workgroup = invocations per workgroup (default 64). */
  rows?: number;
  /** Rows per chunk (default tiled: 16, fewer where 16 rows overflow 16 KiB of workgroup memory; direct: 32). */
  tile?: number;
}

/** 'direct' on software (fallback / SwiftShader / llvmpipe) adapters, 'tiled' elsewhere. */
export function preferredAttentionTuning(adapter: GpuAdapterSummary): AttentionTuning {
  return { variant: isSoftwareAdapter(adapter) ? 'direct' : 'tiled' };
}

type LayoutName = keyof AttentionBackwardLayouts;
const LAYOUT_ORDER: readonly LayoutName[] = ['q', 'k', 'v', 'out', 'dout', 'dq', 'dk', 'dv'];
const KV_SIDE: ReadonlySet<LayoutName> = new Set(['k', 'v', 'dk', 'dv']);

function layoutFields(name: LayoutName, given: TensorLayout | undefined, r: ResolvedAttentionDims): ParamField[] {
  const heads = KV_SIDE.has(name) ? r.hkv : r.hq;
  const t = KV_SIDE.has(name) ? r.tk : r.tq;
  const rowStride = given?.rowStride ?? heads * r.headDim;
  const batchStride = given?.batchStride ?? t * rowStride;
  const offset = given?.offset ?? 0;
  if (rowStride < heads * r.headDim) {
    throw new RangeError(`attention: ${name}.rowStride (${rowStride}) is shorter than a row of ${heads} heads x ${r.headDim}`);
  }
  return [
    ['u32', offset],
    ['u32', rowStride],
    ['u32', batchStride],
  ];
}

/** One parameter block layout for every attention kernel (the Params struct of the shaders). */
function packAttentionParams(r: ResolvedAttentionDims, layouts: AttentionBackwardLayouts): ArrayBuffer {
  const fields: ParamField[] = [
    ['u32', r.batch],
    ['u32', r.tq],
    ['u32', r.tk],
    ['u32', r.hq],
    ['u32', r.hkv],
    ['u32', r.causal ? 1 : 0],
    ['f32', r.scale],
  ];
  for (const name of LAYOUT_ORDER) fields.push(...layoutFields(name, layouts[name], r));
  return packParams(fields);
}

function resolveForGpu(dims: AttentionDims): ResolvedAttentionDims {
  const r = resolveAttentionDims(dims);
  if (r.headDim > MAX_HEAD_DIM) throw new RangeError(`attention: headDim ${r.headDim} exceeds ${MAX_HEAD_DIM}`);
  return r;
}

/** Override constants: head dim, rows per workgroup, rows per chunk (a tile fits 16 KiB of workgroup memory). */
function constants(r: ResolvedAttentionDims, tuning: AttentionTuning, extraBytesPerTileRow: number) {
  const HD = r.headDim;
  const BR = tuning.rows ?? 64;
  const variant = tuning.variant ?? 'tiled';
  if (variant !== 'tiled' && variant !== 'direct') throw new RangeError(`attention: unknown variant ${String(variant)}`);
  const TILED = variant === 'tiled' ? 1 : 0;
  const bytesPerTileRow = 2 * 16 * ceilDiv(HD, 4) + extraBytesPerTileRow;
  const BK = tuning.tile ?? (TILED ? Math.min(TILED_CHUNK, Math.floor(TILE_BYTES / bytesPerTileRow)) : DIRECT_CHUNK);
  if (TILED && BK * bytesPerTileRow > TILE_BYTES) {
    throw new RangeError(`attention: a tile of ${BK} rows at D = ${HD} needs more than ${TILE_BYTES} bytes of workgroup memory`);
  }
  if (!Number.isInteger(BR) || BR < 1 || BR > 256) throw new RangeError(`attention: rows per workgroup ${BR} out of 1..256`);
  if (!Number.isInteger(BK) || BK < 1 || BK > MAX_TILE) throw new RangeError(`attention: tile ${BK} out of 1..${MAX_TILE}`);
  return { HD, BR, BK, TILED };
}

function sameBinding(a: Binding, b: Binding): boolean {
  if (a === b) return true;
  const bufferOf = (x: Binding) => ('buffer' in x ? x.buffer : x);
  return bufferOf(a) === bufferOf(b) && (a as { offset?: number }).offset === (b as { offset?: number }).offset;
}

/**
 * Forward: out (B, Tq, Hq, D) = softmax(scale q k^T, causal with query i at position Tk - Tq + i) v, and
 * lse (B, Hq, Tq) contiguous = each score row's logsumexp, which the backward needs. Writes both.
 * q (B, Tq, Hq, D), k and v (B, Tk, Hkv, D), each placed by its layout. Outputs may alias no input.
 */
export function attentionForward(
  step: StepEncoder,
  out: Binding,
  lse: Binding,
  q: Binding,
  k: Binding,
  v: Binding,
  dims: AttentionDims,
  layouts: AttentionForwardLayouts = {},
  tuning: AttentionTuning = {},
): void {
  const r = resolveForGpu(dims);
  const c = constants(r, { ...preferredAttentionTuning(step.ctx.adapter), ...tuning }, 0);
  const workgroups = r.batch * r.hkv * ceilDiv(r.tq * r.group, c.BR);
  step.dispatch(FORWARD, [q, k, v, out, lse], grid1d(workgroups), packAttentionParams(r, layouts), c);
}

export interface AttentionGradients {
  dq: Binding;
  dk: Binding;
  dv: Binding;
}

export interface AttentionSaved {
  q: Binding;
  k: Binding;
  v: Binding;
  /** The forward's outputs. */
  out: Binding;
  lse: Binding;
}

/**
 * Backward of attentionForward: writes dq (like q), dk and dv (like k and v; for GQA each sums over its
 * group's query heads). Dispatches: Delta = rowsum(dout * out) into a step-scoped temporary; dq; dk/dv per
 * query head; for G > 1 those are partials (two step-scoped (B, Tk, Hq, D) temporaries) that a last pass sums
 * over each group. Every output element is owned by one invocation summing in a fixed order (deterministic,
 * no atomics). dk and dv may be the same binding (e.g. one fused dqkv gradient, their layouts' offsets
 * telling them apart); otherwise they must not overlap. Gradients may alias no input.
 */
export function attentionBackward(
  step: StepEncoder,
  grads: AttentionGradients,
  dout: Binding,
  saved: AttentionSaved,
  dims: AttentionDims,
  layouts: AttentionBackwardLayouts = {},
  tuning: AttentionTuning = {},
): void {
  const r = resolveForGpu(dims);
  const params = packAttentionParams(r, layouts);
  const c = constants(r, { ...preferredAttentionTuning(step.ctx.adapter), ...tuning }, 8); // validates before any temporary is taken
  const rowStats = r.batch * r.hq * r.tq;
  const delta = step.temp(rowStats * 4, 'attention.delta');
  const elementwise = { HD: r.headDim, WG: ELEMENTWISE_WG };
  step.dispatch(DELTA, [saved.out, dout, delta], grid1d(ceilDiv(rowStats, ELEMENTWISE_WG)), params, elementwise);

  const { q, k, v, lse } = saved;
  const dqGroups = r.batch * r.hkv * ceilDiv(r.tq * r.group, c.BR);
  step.dispatch(BACKWARD_DQ, [q, k, v, dout, lse, delta, grads.dq], grid1d(dqGroups), params, c);

  const dkvGroups = grid1d(r.batch * r.hq * ceilDiv(r.tk, c.BR));
  const inputs = [q, k, v, dout, lse, delta];
  if (r.group === 1) {
    if (sameBinding(grads.dk, grads.dv)) step.dispatch(BACKWARD_DKDV_SHARED, [...inputs, grads.dk], dkvGroups, params, c);
    else step.dispatch(BACKWARD_DKDV, [...inputs, grads.dk, grads.dv], dkvGroups, params, c);
    return;
  }
  const partElements = r.batch * r.tk * r.hq * r.headDim;
  const dkPart = step.temp(partElements * 4, 'attention.dk_partial');
  const dvPart = step.temp(partElements * 4, 'attention.dv_partial');
  const part: TensorLayout = { offset: 0, rowStride: r.hq * r.headDim, batchStride: r.tk * r.hq * r.headDim };
  step.dispatch(BACKWARD_DKDV, [...inputs, dkPart, dvPart], dkvGroups, packAttentionParams(r, { ...layouts, dk: part, dv: part }), c);
  // The group sum writes through the dk_* layout fields: pack dv's layout there for the dv pass.
  const sumGroups = grid1d(ceilDiv(r.batch * r.tk * r.hkv * r.headDim, ELEMENTWISE_WG));
  step.dispatch(GROUP_SUM, [dkPart, grads.dk], sumGroups, params, elementwise);
  step.dispatch(GROUP_SUM, [dvPart, grads.dv], sumGroups, packAttentionParams(r, { ...layouts, dk: layouts.dv }), elementwise);
}
