// Decode attention (Tq = 1: one new token per request against its KV cache), split over the key length as
// flash-decoding does (https://crfm.stanford.edu/2023/10/12/flashdecoding.html; onnxruntime's WebGPU
// FlashAttentionDecode* programs in onnxruntime/contrib_ops/webgpu/bert/flash_attention.cc split the same
// way): one pass computes, per chunk of CHUNK keys, an unnormalised softmax-weighted sum of v with its running
// max and sum-exp; a second pass merges the chunks exactly. When the keys fit one chunk the first pass writes
// the result itself and the merge is not dispatched.
//
// attentionForward at Tq = 1 gives each (b, kv head) one workgroup of 64 rows of which only G = Hq / Hkv
// work, each walking all Tk keys alone; here every (b, h, chunk) is one invocation of a dense grid.

import decodeSource from '../../../../shaders/attention_decode.wgsl?raw';
import combineSource from '../../../../shaders/attention_decode_combine.wgsl?raw';
import paramsSource from '../../../../shaders/attention_decode_params.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, joinWgsl, packParams, type KernelConstants } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import { resolveAttentionDims, type AttentionDims, type ResolvedAttentionDims } from '../cpu/attention';
import { MAX_HEAD_DIM, type TensorLayout } from './attention';

const withParams = (file: string, source: string) =>
  joinWgsl({ file: 'attention_decode_params.wgsl', source: paramsSource }, { file, source });

const DECODE = defineKernel('attention.decode', withParams('attention_decode.wgsl', decodeSource), 'attention_decode', [
  'read', 'read', 'read', 'write', 'write', 'uniform',
]);
const COMBINE = defineKernel('attention.decode.combine', withParams('attention_decode_combine.wgsl', combineSource), 'attention_decode_combine', [
  'read', 'read', 'write', 'write', 'uniform',
]);

/** The query is the last position, so causality holds trivially: no tq, no causal flag. */
export type DecodeAttentionDims = Omit<AttentionDims, 'tq' | 'causal'>;

export interface DecodeLayouts {
  /** (B, 1, Hq, D): only offset and batchStride matter (default batchStride Hq * D). */
  q?: TensorLayout;
  /** (B, Tk, Hkv, D) inside a cache: attention.ts's convention (default rowStride Hkv * D, batchStride Tk * rowStride). */
  k?: TensorLayout;
  v?: TensorLayout;
  /** Like q. */
  out?: TensorLayout;
}

export interface DecodeTuning {
  /** Keys per split (the CHUNK override; default 64). Tk <= chunk runs one pass. */
  chunk?: number;
  /** Invocations per workgroup (default 64). */
  workgroup?: number;
  /** Keys scored between two rescales of an invocation's accumulator (default 16, at most 32). */
  block?: number;
}

export interface DecodeOutputs {
  /** (B, 1, Hq, D), placed by layouts.out. */
  out: Binding;
  /** (B, Hq) contiguous logsumexp of each score row; a step temporary when absent. */
  lse?: Binding;
}

/**
 * Partials of a split decode; a caller decoding many times in one step (every layer, every request) passes
 * one workspace sized by decodeWorkspaceBytes for the largest call, so all of them bind the same buffers.
 */
export interface DecodeWorkspace {
  acc: GPUBuffer;
  stats: GPUBuffer;
}

const DEFAULT_CHUNK = 64;
const DEFAULT_WORKGROUP = 64;
const DEFAULT_BLOCK = 16;
const MAX_BLOCK = 32; // MAX_BK in the shader
const MAX_WORKGROUP = 256; // maxComputeInvocationsPerWorkgroup every WebGPU device offers
const MAX_CHUNK = 1 << 16;

/** Override constants per (head dim, tuning), built once so a dispatch allocates no constants object. */
const constantsCache = new Map<number, KernelConstants>();

function decodeConstants(headDim: number, tuning: DecodeTuning): { decode: KernelConstants; combine: KernelConstants; chunk: number } {
  const chunk = tuning.chunk ?? DEFAULT_CHUNK;
  const WG = tuning.workgroup ?? DEFAULT_WORKGROUP;
  const BK = Math.min(tuning.block ?? DEFAULT_BLOCK, chunk);
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > MAX_CHUNK) throw new RangeError(`attentionDecode: chunk ${chunk} out of 1..${MAX_CHUNK}`);
  if (!Number.isInteger(WG) || WG < 1 || WG > MAX_WORKGROUP) throw new RangeError(`attentionDecode: workgroup ${WG} out of 1..${MAX_WORKGROUP}`);
  if (!Number.isInteger(BK) || BK < 1 || BK > MAX_BLOCK) throw new RangeError(`attentionDecode: block ${BK} out of 1..${MAX_BLOCK}`);
  // Key packs the four small integers: HD <= 128, WG <= 256, BK <= 32, chunk <= 2^16.
  const key = ((headDim * 257 + WG) * 33 + BK) * (MAX_CHUNK + 1) + chunk;
  let decode = constantsCache.get(key);
  if (!decode) constantsCache.set(key, (decode = { HD: headDim, WG, CHUNK: chunk, BK }));
  const combineKey = -1 - (headDim * 257 + WG);
  let combine = constantsCache.get(combineKey);
  if (!combine) constantsCache.set(combineKey, (combine = { HD: headDim, WG }));
  return { decode, combine, chunk };
}

function resolveDecodeDims(dims: DecodeAttentionDims): ResolvedAttentionDims {
  const r = resolveAttentionDims({ ...dims, tq: 1, causal: true });
  if (r.headDim > MAX_HEAD_DIM) throw new RangeError(`attentionDecode: headDim ${r.headDim} exceeds ${MAX_HEAD_DIM}`);
  return r;
}

/** Number of key chunks (first-pass invocations per head) a call of this shape uses. */
export function decodeSplits(tk: number, tuning: DecodeTuning = {}): number {
  return ceilDiv(tk, tuning.chunk ?? DEFAULT_CHUNK);
}

/** Bytes of the partials a call needs: 0 and 0 when its keys fit one chunk. */
export function decodeWorkspaceBytes(dims: DecodeAttentionDims, tuning: DecodeTuning = {}): { acc: number; stats: number } {
  const splits = decodeSplits(dims.tk, tuning);
  if (splits === 1) return { acc: 0, stats: 0 };
  const heads = dims.batch * dims.hq * splits;
  return { acc: heads * ceilDiv(dims.headDim, 4) * 16, stats: heads * 8 };
}

function checkedLayout(name: string, given: TensorLayout | undefined, rowElements: number, rows: number): [number, number, number] {
  const rowStride = given?.rowStride ?? rowElements;
  if (rowStride < rowElements) throw new RangeError(`attentionDecode: ${name}.rowStride (${rowStride}) is shorter than a row of ${rowElements} elements`);
  return [given?.offset ?? 0, rowStride, given?.batchStride ?? rows * rowStride];
}

/** The DecodeParams struct of attention_decode_params.wgsl. */
function packDecodeParams(r: ResolvedAttentionDims, splits: number, layouts: DecodeLayouts): ArrayBuffer {
  const qRow = r.hq * r.headDim;
  const kvRow = r.hkv * r.headDim;
  const [qOff, , qBatch] = checkedLayout('q', layouts.q, qRow, 1);
  const [kOff, kRow, kBatch] = checkedLayout('k', layouts.k, kvRow, r.tk);
  const [vOff, vRow, vBatch] = checkedLayout('v', layouts.v, kvRow, r.tk);
  const [oOff, , oBatch] = checkedLayout('out', layouts.out, qRow, 1);
  return packParams([
    ['u32', r.batch], ['u32', r.tk], ['u32', r.hq], ['u32', r.hkv],
    ['u32', splits], ['f32', r.scale],
    ['u32', qOff], ['u32', qBatch],
    ['u32', kOff], ['u32', kRow], ['u32', kBatch],
    ['u32', vOff], ['u32', vRow], ['u32', vBatch],
    ['u32', oOff], ['u32', oBatch],
  ]);
}

/**
 * out (B, 1, Hq, D) = softmax(scale q k^T) v over all Tk keys, and lse (B, Hq) its logsumexp, for q (B, 1, Hq, D)
 * and k, v (B, Tk, Hkv, D) placed by their layouts (GQA: query head h reads kv head h / (Hq / Hkv)). Equals
 * attentionForward with Tq = 1 (causal or not). One dispatch when Tk <= chunk, else two; the partials live
 * in `workspace` when given, else in step temporaries. Outputs may alias no input. Bitwise reproducible.
 */
export function attentionDecode(
  step: StepEncoder,
  outputs: DecodeOutputs,
  q: Binding,
  k: Binding,
  v: Binding,
  dims: DecodeAttentionDims,
  layouts: DecodeLayouts = {},
  tuning: DecodeTuning = {},
  workspace?: DecodeWorkspace,
): void {
  const r = resolveDecodeDims(dims);
  const c = decodeConstants(r.headDim, tuning);
  const splits = ceilDiv(r.tk, c.chunk);
  const params = packDecodeParams(r, splits, layouts);
  const lse = outputs.lse ?? step.temp(r.batch * r.hq * 4, 'attention.decode.lse');
  const WG = c.decode.WG;
  const firstPass = grid1d(ceilDiv(r.batch * r.hq * splits, WG));
  if (splits === 1) {
    step.dispatch(DECODE, [q, k, v, outputs.out, lse], firstPass, params, c.decode);
    return;
  }
  const need = decodeWorkspaceBytes(dims, tuning);
  if (workspace && (workspace.acc.size < need.acc || workspace.stats.size < need.stats)) {
    throw new RangeError(`attentionDecode: the workspace (${workspace.acc.size} + ${workspace.stats.size} bytes) is smaller than this call's partials (${need.acc} + ${need.stats})`);
  }
  const acc = workspace?.acc ?? step.temp(need.acc, 'attention.decode.partial_acc');
  const stats = workspace?.stats ?? step.temp(need.stats, 'attention.decode.partial_stats');
  step.dispatch(DECODE, [q, k, v, acc, stats], firstPass, params, c.decode);
  step.dispatch(COMBINE, [acc, stats, outputs.out, lse], grid1d(ceilDiv(r.batch * r.hq * ceilDiv(r.headDim, 4), WG)), params, c.combine);
}
