// Dispatchers for rotary position embeddings (Hugging Face rotate_half convention; Llama, Qwen2).
// The inverse frequencies come in a buffer (D/2 f32) so that rope_theta and any rope scaling are decided
// on the CPU (see ropeInverseFrequencies in ../cpu/rope).

import source from '../../../../shaders/rope.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';

const WG = 64;
const ROPE = defineKernel('rope', source, 'main', ['read', 'read', 'read', 'write', 'uniform']);
const ROPE_PAIR = defineKernel('rope.pair', source, 'pair', ['read', 'read', 'read', 'write', 'uniform', 'read', 'write']);

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

/** A second tensor rotated in the same dispatch (a layer's k beside its q): same tokens, its own heads. */
interface Second {
  out: Binding;
  x: Binding;
  heads: number;
}

function rotate(
  step: StepEncoder,
  out: Binding,
  x: Binding,
  invFreq: Binding,
  dims: RopeDims,
  options: RopeOptions,
  direction: 1 | -1,
  second?: Second,
): void {
  const { batch, seqLen, heads, headDim } = dims;
  for (const [name, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`rope: ${name} must be a positive integer, got ${v}`);
  }
  if (second && (!Number.isInteger(second.heads) || second.heads < 1)) throw new RangeError(`rope: the second tensor's heads must be a positive integer, got ${second.heads}`);
  if (headDim % 2 !== 0) throw new RangeError(`rope: head dimension must be even, got ${headDim}`);
  const offset = options.positionOffset ?? 0;
  if (!Number.isInteger(offset)) throw new RangeError(`rope: positionOffset must be an integer, got ${offset}`);
  const tokens = batch * seqLen;
  const half = headDim / 2;
  const params = packParams([
    ['u32', tokens],
    ['u32', seqLen],
    ['u32', heads],
    ['u32', half],
    ['i32', offset],
    ['f32', direction],
    ['u32', 0],
    ['u32', second?.heads ?? 0],
  ]);
  const usePositions = options.positions !== undefined;
  const constants = { WG, USE_POSITIONS: usePositions ? 1 : 0 };
  const grid = grid1d(ceilDiv(tokens * half, WG));
  const positions = options.positions ?? invFreq;
  if (second) step.dispatch(ROPE_PAIR, [x, invFreq, positions, out, second.x, second.out], grid, params, constants);
  else step.dispatch(ROPE, [x, invFreq, positions, out], grid, params, constants);
}

/**
 * q and k of one layer in one dispatch: each (B, T, H, D) rotated by `direction` * pos * invFreq, q with
 * dims.heads heads and k with kHeads. Equal to two ropeForward / ropeBackward calls, element for element.
 */
export function ropePair(
  step: StepEncoder,
  direction: 'forward' | 'backward',
  q: { out: Binding; x: Binding },
  k: { out: Binding; x: Binding; heads: number },
  invFreq: Binding,
  dims: RopeDims,
  options: RopeOptions = {},
): void {
  rotate(step, q.out, q.x, invFreq, dims, options, direction === 'forward' ? 1 : -1, k);
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
