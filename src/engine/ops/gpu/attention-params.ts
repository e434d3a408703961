// The parameter block every attention kernel reads (shaders/attention_params.wgsl) and the tensor layouts
// it carries: shared by the flash kernels (attention.ts), the matrix-product path (attention-matmul.ts) and
// decode (attention-decode.ts).

import paramsSource from '../../../../shaders/attention_params.wgsl?raw';
import { joinWgsl, packParams, type JoinedWgsl, type ParamField } from '../../gpu/kernel';
import { resolveAttentionDims, type AttentionDims, type ResolvedAttentionDims } from '../cpu/attention';

export const MAX_HEAD_DIM = 128;

/** Every attention kernel reads the same Params struct (WGSL has no includes). */
export function withParams(file: string, source: string): JoinedWgsl {
  return joinWgsl({ file: 'attention_params.wgsl', source: paramsSource }, { file, source });
}

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

export type LayoutName = keyof AttentionBackwardLayouts;
const LAYOUT_ORDER: readonly LayoutName[] = ['q', 'k', 'v', 'out', 'dout', 'dq', 'dk', 'dv'];
const KV_SIDE: ReadonlySet<LayoutName> = new Set(['k', 'v', 'dk', 'dv']);

/** A tensor's layout with every default filled in, in f32 elements. */
export interface ResolvedLayout {
  offset: number;
  rowStride: number;
  batchStride: number;
}

export function resolveLayout(name: LayoutName, given: TensorLayout | undefined, r: ResolvedAttentionDims): ResolvedLayout {
  const heads = KV_SIDE.has(name) ? r.hkv : r.hq;
  const t = KV_SIDE.has(name) ? r.tk : r.tq;
  const rowStride = given?.rowStride ?? heads * r.headDim;
  const batchStride = given?.batchStride ?? t * rowStride;
  const offset = given?.offset ?? 0;
  if (rowStride < heads * r.headDim) {
    throw new RangeError(`attention: ${name}.rowStride (${rowStride}) is shorter than a row of ${heads} heads x ${r.headDim}`);
  }
  return { offset, rowStride, batchStride };
}

function layoutFields(name: LayoutName, given: TensorLayout | undefined, r: ResolvedAttentionDims): ParamField[] {
  const { offset, rowStride, batchStride } = resolveLayout(name, given, r);
  return [
    ['u32', offset],
    ['u32', rowStride],
    ['u32', batchStride],
  ];
}

/** One parameter block layout for every attention kernel (the Params struct of the shaders). */
export function packAttentionParams(r: ResolvedAttentionDims, layouts: AttentionBackwardLayouts): ArrayBuffer {
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

export function resolveForGpu(dims: AttentionDims): ResolvedAttentionDims {
  const r = resolveAttentionDims(dims);
  if (r.headDim > MAX_HEAD_DIM) throw new RangeError(`attention: headDim ${r.headDim} exceeds ${MAX_HEAD_DIM}`);
  return r;
}

/** Override constants: head dim, rows per workgroup, rows per chunk (a tile fits 16 KiB of workgroup memory). */
