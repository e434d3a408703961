// Dispatchers for rotary position embeddings (Hugging Face rotate_half convention; Llama, Qwen2).
// The inverse frequencies come in a buffer (D/2 f32) so that rope_theta and any rope scaling are decided
// on the CPU (see ropeInverseFrequencies in ../cpu/rope).

import angleSource from '../../../../shaders/rope_angle.wgsl?raw';
import qkvSource from '../../../../shaders/rope_qkv.wgsl?raw';
import source from '../../../../shaders/rope.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, joinWgsl, packParams, type KernelConstants } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';

const WG = 64;
const ANGLE = { file: 'rope_angle.wgsl', source: angleSource };
const ROPE = defineKernel('rope', joinWgsl(ANGLE, { file: 'rope.wgsl', source }), 'main', ['read', 'read', 'read', 'write', 'uniform']);
const QKV_SOURCE = joinWgsl(ANGLE, { file: 'rope_qkv.wgsl', source: qkvSource });
// fused is one read_write declaration shared by both entry points: gather only reads it.
const ROPE_QKV_GATHER = defineKernel('rope.qkv_gather', QKV_SOURCE, 'gather', ['write', 'read', 'read', 'uniform', 'write', 'write', 'write']);
const ROPE_QKV_ROTATE_BACK = defineKernel('rope.qkv_rotate_back', QKV_SOURCE, 'rotate_back', ['write', 'read', 'read', 'uniform']);

export interface RopeDims {
  batch: number;
  seqLen: number;
  heads: number;
  /** D, even. */
  headDim: number;
}

export interface RopeOptions {
  /** Added to every position: a KV-cached decode step rotates at its absolute position. Default 0. */
  positionOffset?: number;
  /**
   * i32 (B * T), one position per token for packed sequences whose positions restart; replaces t, so
   * pos = positionOffset + positions[b * T + t].
   */
  positions?: Binding;
}

const WITH_POSITIONS = Object.freeze({ WG, USE_POSITIONS: 1 });
const WITHOUT_POSITIONS = Object.freeze({ WG, USE_POSITIONS: 0 });

function checkDims(dims: RopeDims, options: RopeOptions): void {
  for (const [name, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`rope: ${name} must be a positive integer, got ${v}`);
  }
  if (dims.headDim % 2 !== 0) throw new RangeError(`rope: head dimension must be even, got ${dims.headDim}`);
  const offset = options.positionOffset ?? 0;
  if (!Number.isInteger(offset)) throw new RangeError(`rope: positionOffset must be an integer, got ${offset}`);
}

function rotate(step: StepEncoder, out: Binding, x: Binding, invFreq: Binding, dims: RopeDims, options: RopeOptions, direction: 1 | -1): void {
  checkDims(dims, options);
  const { batch, seqLen, heads, headDim } = dims;
  const tokens = batch * seqLen;
  const half = headDim / 2;
  const params = packParams([
    ['u32', tokens],
    ['u32', seqLen],
    ['u32', heads],
    ['u32', half],
    ['i32', options.positionOffset ?? 0],
    ['f32', direction],
    ['u32', 0],
  ]);
  const usePositions = options.positions !== undefined;
  const grid = grid1d(ceilDiv(tokens * half, WG));
  step.dispatch(ROPE, [x, invFreq, options.positions ?? invFreq, out], grid, params, usePositions ? WITH_POSITIONS : WITHOUT_POSITIONS);
}

/** q, k and v of one layer, each (N, H, D) with its own heads. */
export interface QkvTensors {
  q: Binding;
  k: Binding;
  v: Binding;
}

/** RoPE dims of a fused projection: dims.heads is Hq, kvHeads Hkv, seqLen N (one batch: positions per row). */
export type QkvDims = RopeDims & { kvHeads: number };

/** rope_qkv.wgsl's parameter block, grid (one invocation per row and frequency) and constants. */
function qkvDispatch(dims: QkvDims, options: RopeOptions, direction: 1 | -1): { params: ArrayBuffer; grid: [number, number, number]; constants: KernelConstants } {
  checkDims(dims, options);
  const { batch, seqLen, heads, kvHeads, headDim } = dims;
  if (batch !== 1) throw new RangeError(`rope.qkv: rows come as one batch of N (positions per row), got batch ${batch}`);
  const params = packParams([
    ['u32', seqLen],
    ['u32', heads],
    ['u32', kvHeads],
    ['u32', headDim / 2],
    ['i32', options.positionOffset ?? 0],
    ['f32', direction],
    ['u32', 0],
    ['u32', (heads + 2 * kvHeads) * headDim],
  ]);
  const grid = grid1d(ceilDiv(seqLen * (headDim / 2), WG));
  return { params, grid, constants: options.positions === undefined ? WITHOUT_POSITIONS : WITH_POSITIONS };
}

/**
 * Forward of a layer's fused projection (N, (Hq + 2 Hkv) D), rows [q | k | v]: q = RoPE(fused q),
 * k = RoPE(fused k), v = fused v, into three contiguous tensors; one dispatch. Element for element what
 * ropeForward gives on q and k alone.
 */
export function ropeQkv(step: StepEncoder, fused: Binding, out: QkvTensors, invFreq: Binding, dims: QkvDims, options: RopeOptions = {}): void {
  const { params, grid, constants } = qkvDispatch(dims, options, 1);
  step.dispatch(ROPE_QKV_GATHER, [fused, invFreq, options.positions ?? invFreq, out.q, out.k, out.v], grid, params, constants);
}

/**
 * Backward of ropeQkv on gradients already in the fused rows [dq | dk | dv] (as the attention backward
 * writes them): dq and dk rotated back in place, dv left as it is; one dispatch. Element for element what
 * ropeBackward gives on dq and dk alone.
 */
export function ropeQkvBackward(step: StepEncoder, fused: Binding, invFreq: Binding, dims: QkvDims, options: RopeOptions = {}): void {
  const { params, grid, constants } = qkvDispatch(dims, options, -1);
  step.dispatch(ROPE_QKV_ROTATE_BACK, [fused, invFreq, options.positions ?? invFreq], grid, params, constants);
}

/** out (B, T, H, D) = x rotated by +pos * invFreq. `out` must not alias x. */
export function ropeForward(
  step: StepEncoder,
  out: Binding,
  x: Binding,
  invFreq: Binding,
  dims: RopeDims,
  options: RopeOptions = {},
): void {
  rotate(step, out, x, invFreq, dims, options, 1);
}

/** dx (B, T, H, D) = dy rotated by -pos * invFreq (the transpose of the forward); overwrites dx. */
export function ropeBackward(
  step: StepEncoder,
  dx: Binding,
  dy: Binding,
  invFreq: Binding,
  dims: RopeDims,
  options: RopeOptions = {},
): void {
  rotate(step, dx, dy, invFreq, dims, options, -1);
}
