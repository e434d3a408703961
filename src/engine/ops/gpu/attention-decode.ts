// Decode attention (Tq = 1: one new token per request against its KV cache), split over the key length as
// flash-decoding does (https://crfm.stanford.edu/2023/10/12/flashdecoding.html; onnxruntime's WebGPU
// FlashAttentionDecode* programs in onnxruntime/contrib_ops/webgpu/bert/flash_attention.cc split the same
// way): one pass computes, per chunk of CHUNK keys, an unnormalised softmax-weighted sum of v with its running
// max and sum-exp; a second pass merges the chunks exactly. When the keys fit one chunk the first pass writes
// the result itself and the merge is not dispatched.
//
// attentionForward at Tq = 1 gives each (b, kv head) one workgroup of 64 rows of which only G = Hq / Hkv
// work, each walking all Tk keys alone; here every (b, kv head, block of query heads, chunk) is one invocation
// of a dense grid, reading each key's k and v once for its block of heads.

import decodeSource from '../../../../shaders/attention_decode.wgsl?raw';
import combineSource from '../../../../shaders/attention_decode_combine.wgsl?raw';
import ioSource from '../../../../shaders/attention_decode_io.wgsl?raw';
import ioVec4Source from '../../../../shaders/attention_decode_io_vec4.wgsl?raw';
import paramsSource from '../../../../shaders/attention_decode_params.wgsl?raw';
import type { GpuAdapterSummary } from '../../gpu/adapter-info';
import { ceilDiv, defineKernel, grid1d, joinWgsl, packParams, type KernelConstants, type WgslPart } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import type { AttentionDims } from '../cpu/attention';
import { MAX_HEAD_DIM, type TensorLayout } from './attention';

const PARAMS: WgslPart = { file: 'attention_decode_params.wgsl', source: paramsSource };
const FIRST_PASS_BINDINGS = ['read', 'read', 'read', 'write', 'write', 'uniform'] as const;
const MAIN: WgslPart = { file: 'attention_decode.wgsl', source: decodeSource };
/** q, k and v read as f32: any head dim, offsets and strides. */
const DECODE = defineKernel('attention.decode', joinWgsl(PARAMS, { file: 'attention_decode_io.wgsl', source: ioSource }, MAIN), 'attention_decode', FIRST_PASS_BINDINGS);
/** q, k and v read as vec4: D and every offset and stride a multiple of 4. */
const DECODE_VEC4 = defineKernel('attention.decode.vec4', joinWgsl(PARAMS, { file: 'attention_decode_io_vec4.wgsl', source: ioVec4Source }, MAIN), 'attention_decode', FIRST_PASS_BINDINGS);
const COMBINE = defineKernel('attention.decode.combine', joinWgsl(PARAMS, { file: 'attention_decode_combine.wgsl', source: combineSource }), 'attention_decode_combine', [
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
  /**
   * Query heads of one kv head's group per invocation, which read each k and v row once for all of them
   * (at most 4, and heads * ceil(D / 4) <= 64, heads * block <= 64). Default: see preferredDecodeHeads.
   */
  heads?: number;
  /** Read q, k and v as vec4s where D and their offsets and strides allow (default true); false: f32 reads. */
  vec4Reads?: boolean;
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
const MAX_BLOCK = 32;
/**
 * The shader's per-invocation arrays: HEADS <= 4, HEADS * ceil(D / 4) <= 64 vec4s, HEADS * BK <= 64 scores.
 * Kept small on purpose: Mesa's lavapipe turns every dynamically indexed private array into select ladders,
 * and 256-entry arrays took it minutes per pipeline.
 */
const MAX_HEADS = 4;
const MAX_HEADS_VEC4S = 64;
const MAX_HEADS_SCORES = 64;
const MAX_WORKGROUP = 256; // maxComputeInvocationsPerWorkgroup every WebGPU device offers
const MAX_CHUNK = 1 << 16;

function checkInteger(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`attentionDecode: ${name} ${value} out of 1..${max}`);
  return value;
}

/** The most query heads one invocation may serve at this head dim and block. */
function headsCapacity(headDim: number, block: number): number {
  return Math.min(MAX_HEADS, Math.floor(MAX_HEADS_VEC4S / ceilDiv(headDim, 4)), Math.floor(MAX_HEADS_SCORES / block));
}

const swiftShaderVerdicts = new WeakMap<GpuAdapterSummary, boolean>();

/** SwiftShader (Dawn's and Chromium's fallback adapter): decided once per adapter. */
function isSwiftShader(adapter: GpuAdapterSummary): boolean {
  let verdict = swiftShaderVerdicts.get(adapter);
  if (verdict === undefined) {
    verdict = adapter.isFallbackAdapter || /swiftshader/i.test(`${adapter.architecture} ${adapter.description} ${adapter.device}`);
    swiftShaderVerdicts.set(adapter, verdict);
  }
  return verdict;
}

/**
 * Query heads per invocation when the tuning leaves it open: on SwiftShader the whole group in even blocks
 * (7 heads at capacity 4 run as 4 + 3), since loads are its cost and it compiles the multi-head loops in a
 * fraction of a second; elsewhere 1 (real GPUs keep one head's accumulator in registers and share the rows
 * through the cache; lavapipe spends minutes compiling the multi-head loops).
 */
export function preferredDecodeHeads(adapter: GpuAdapterSummary, group: number, headDim: number, block = DEFAULT_BLOCK): number {
  if (!isSwiftShader(adapter)) return 1;
  return ceilDiv(group, ceilDiv(group, headsCapacity(headDim, block)));
}

interface DecodePlan {
  decode: KernelConstants;
  combine: KernelConstants;
  chunk: number;
  heads: number;
  workgroup: number;
}

/** Override constants per (head dim, tuning), built once so a dispatch allocates no constants objects. */
const plans = new Map<number, DecodePlan>();

function decodePlan(step: StepEncoder, dims: DecodeAttentionDims, tuning: DecodeTuning): DecodePlan {
  const chunk = checkInteger('chunk', tuning.chunk ?? DEFAULT_CHUNK, MAX_CHUNK);
  const WG = checkInteger('workgroup', tuning.workgroup ?? DEFAULT_WORKGROUP, MAX_WORKGROUP);
  const BK = checkInteger('block', Math.min(tuning.block ?? DEFAULT_BLOCK, chunk), MAX_BLOCK);
  const HEADS = checkInteger('heads', tuning.heads ?? preferredDecodeHeads(step.ctx.adapter, dims.hq / dims.hkv, dims.headDim, BK), headsCapacity(dims.headDim, BK));
  // One number for the five small integers: HD <= 128, WG <= 256, BK <= 32, HEADS <= 4, chunk <= 2^16.
  const key = (((dims.headDim * 257 + WG) * 33 + BK) * 9 + HEADS) * (MAX_CHUNK + 1) + chunk;
  let plan = plans.get(key);
  if (!plan) {
    plan = { decode: { HD: dims.headDim, WG, CHUNK: chunk, BK, HEADS }, combine: { HD: dims.headDim, WG }, chunk, heads: HEADS, workgroup: WG };
    plans.set(key, plan);
  }
  return plan;
}

function checkPositive(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`attentionDecode: ${name} must be a positive integer, got ${n}`);
}

/** The checks of resolveAttentionDims, without its allocations (this runs per layer and request at every token). */
function checkDims(d: DecodeAttentionDims): void {
  checkPositive('batch', d.batch);
  checkPositive('tk', d.tk);
  checkPositive('hq', d.hq);
  checkPositive('hkv', d.hkv);
  checkPositive('headDim', d.headDim);
  if (d.hq % d.hkv !== 0) throw new RangeError(`attentionDecode: hq (${d.hq}) must be a multiple of hkv (${d.hkv})`);
  if (d.headDim > MAX_HEAD_DIM) throw new RangeError(`attentionDecode: headDim ${d.headDim} exceeds ${MAX_HEAD_DIM}`);
}

/** Sizes of workspace buffers already checked (on dawn.node every read of GPUBuffer.size calls native code). */
const bufferSizes = new WeakMap<GPUBuffer, number>();
function sizeOf(buffer: GPUBuffer): number {
  let size = bufferSizes.get(buffer);
  if (size === undefined) bufferSizes.set(buffer, (size = buffer.size));
  return size;
}

/** Number of key chunks a call of this shape uses. */
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

function rowStrideOf(name: string, given: TensorLayout | undefined, rowElements: number): number {
  const rowStride = given?.rowStride ?? rowElements;
  if (rowStride < rowElements) throw new RangeError(`attentionDecode: ${name}.rowStride (${rowStride}) is shorter than a row of ${rowElements} elements`);
  return rowStride;
}

/** The DecodeParams struct of attention_decode_params.wgsl, and whether q, k and v can be read as vec4s. */
function packDecodeParams(d: DecodeAttentionDims, splits: number, layouts: DecodeLayouts): { params: ArrayBuffer; vec4: boolean } {
  const { q, k, v, out } = layouts;
  const qRow = d.hq * d.headDim;
  const kvRow = d.hkv * d.headDim;
  rowStrideOf('q', q, qRow);
  rowStrideOf('out', out, qRow);
  const kRow = rowStrideOf('k', k, kvRow);
  const vRow = rowStrideOf('v', v, kvRow);
  // Tq = 1: a query "row" is a whole request, so the default batch stride is one row.
  const qOff = q?.offset ?? 0;
  const qBatch = q?.batchStride ?? q?.rowStride ?? qRow;
  const kOff = k?.offset ?? 0;
  const kBatch = k?.batchStride ?? d.tk * kRow;
  const vOff = v?.offset ?? 0;
  const vBatch = v?.batchStride ?? d.tk * vRow;
  const vec4 = d.headDim % 4 === 0 && qOff % 4 === 0 && qBatch % 4 === 0 && kOff % 4 === 0 && kRow % 4 === 0 && kBatch % 4 === 0 && vOff % 4 === 0 && vRow % 4 === 0 && vBatch % 4 === 0;
  const params = packParams([
    ['u32', d.batch], ['u32', d.tk], ['u32', d.hq], ['u32', d.hkv],
    ['u32', splits], ['f32', d.scale ?? 1 / Math.sqrt(d.headDim)],
    ['u32', qOff], ['u32', qBatch],
    ['u32', kOff], ['u32', kRow], ['u32', kBatch],
    ['u32', vOff], ['u32', vRow], ['u32', vBatch],
    ['u32', out?.offset ?? 0], ['u32', out?.batchStride ?? out?.rowStride ?? qRow],
  ]);
  return { params, vec4 };
}

/** A binding whose size (when given) is a whole number of vec4s, so a vec4 view loses no element. */
function vec4Sized(b: Binding): boolean {
  return !('buffer' in b) || b.size === undefined || b.size % 16 === 0;
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
  checkDims(dims);
  const plan = decodePlan(step, dims, tuning);
  const splits = ceilDiv(dims.tk, plan.chunk);
  const { params, vec4 } = packDecodeParams(dims, splits, layouts);
  const kernel = vec4 && tuning.vec4Reads !== false && vec4Sized(q) && vec4Sized(k) && vec4Sized(v) ? DECODE_VEC4 : DECODE;
  const firstPass = grid1d(ceilDiv(dims.batch * dims.hkv * ceilDiv(dims.hq / dims.hkv, plan.heads) * splits, plan.workgroup));
  let acc: Binding | undefined;
  let stats: Binding | undefined;
  if (splits > 1) {
    const need = decodeWorkspaceBytes(dims, tuning);
    if (workspace && (sizeOf(workspace.acc) < need.acc || sizeOf(workspace.stats) < need.stats)) {
      throw new RangeError(`attentionDecode: the workspace (${sizeOf(workspace.acc)} + ${sizeOf(workspace.stats)} bytes) is smaller than this call's partials (${need.acc} + ${need.stats})`);
    }
    acc = workspace?.acc ?? step.temp(need.acc, 'attention.decode.partial_acc');
    stats = workspace?.stats ?? step.temp(need.stats, 'attention.decode.partial_stats');
  }
  const lse = outputs.lse ?? step.temp(dims.batch * dims.hq * 4, 'attention.decode.lse');
  if (!acc || !stats) {
    step.dispatch(kernel, [q, k, v, outputs.out, lse], firstPass, params, plan.decode);
    return;
  }
  step.dispatch(kernel, [q, k, v, acc, stats], firstPass, params, plan.decode);
  const combineGroups = grid1d(ceilDiv(dims.batch * dims.hq * ceilDiv(dims.headDim, 4), plan.workgroup));
  step.dispatch(COMBINE, [acc, stats, outputs.out, lse], combineGroups, params, plan.combine);
}
