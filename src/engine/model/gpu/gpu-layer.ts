// One transformer block of the GPU engine, recorded over N rows: the one block of generation
// (gpu-inference-layer.ts) and of training (src/engine/train/gpu/gpu-train-forward.ts), as nanoGPT keeps one
// Block. The caller's BlockPass decides what differs: where attention's keys and values come from (each
// request's KV cache, or each packed group's own rows), where the activations go (scratch shared by every
// layer, or a set saved for the backward), whether the residual updates x in place or leaves it intact for
// the backward, and how a LoRA slot's term is made (plain, or with dropout and u saved).
//
// Dispatches, in this order:
//   [the layer's f16 weights widened to f32 where the products would widen them, see widened-layer.ts];
//   norm; RoPE models: q, k, v as one product into (N, Q + 2K) rows (three where the weights are not back
//   to back) (+ bias, + LoRA each into its columns), then one rope.qkv_gather dispatch: q and k rotated
//   (positions per row) and v copied out; learned positions: q, k, v projections (+ bias, + LoRA each);
//   the pass's attention; mid = x + o(attn) (+ LoRA); norm; gate and up as one product into (N, 2F) (+ LoRA each),
//   SwiGLU (or c_fc (+ LoRA), GELU); out = mid + down(hidden) (+ LoRA). The residual adds are the o and down
//   products' epilogues (in place when mid is x; a copy first for weights with a bias, GPT-2's).

import type { StepEncoder } from '../../gpu/step-encoder';
import { gelu, swiglu } from '../../ops/gpu/activations';
import { layerNormForward, rmsNormForward } from '../../ops/gpu/norms';
import { ropeQkv } from '../../ops/gpu/rope';
import type { ModelConfig } from '../config';
import { linear } from './gpu-linear';
import type { LayerLoraRecorder } from './gpu-lora-slots';
import { FUSED_GROUPS, groupColumns, type FusedGroup, type GpuLayerWeights, type GpuMatrix, type GpuNorm } from './gpu-weights';
import { widenLayer } from './widened-layer';

/**
 * The buffers one block writes besides its residual stream, for N rows (C hidden, Q = Hq * D, K = Hkv * D,
 * F intermediate). Training keeps one set per layer for the backward; generation shares one set by all.
 */
export interface BlockActivations {
  /** (N) rstd, or (N) mean and (N) rstd for LayerNorm: the attention norm's statistics. */
  attnStats: [GPUBuffer, GPUBuffer];
  /** (N, C) attention norm output: the input of q, k, v. */
  h1: GPUBuffer;
  /** (N, Q), (N, K), (N, K): q and k after RoPE, and v. */
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** (N, Q) attention output: the input of o. */
  attn: GPUBuffer;
  mlpStats: [GPUBuffer, GPUBuffer];
  /** (N, C) MLP norm output: the input of gate / up (c_fc). */
  h2: GPUBuffer;
  /** (N, 2F) gate and up side by side per row (SwiGLU), or (N, F) c_fc output (GELU), before the activation. */
  a: GPUBuffer;
  /** (N, F) activated hidden: the input of down. */
  hidden: GPUBuffer;
}

/** What one recording of the block reads, writes and does differently per use. */
export interface BlockPass {
  rows: number;
  /** (N, C) the block's input. */
  x: GPUBuffer;
  /** (N, C) the residual after attention: x itself (updated in place) or a buffer of its own (x kept). */
  mid: GPUBuffer;
  /** (N, C) the output: mid itself or a buffer of its own; null stops after down's LoRA u (recomputation). */
  out: GPUBuffer | null;
  /** RoPE models: (N, Q + 2K) q, k and v as projected, side by side per row, before RoPE. */
  qkvPre?: GPUBuffer;
  acts: BlockActivations;
  /** (D / 2) f32 inverse frequencies and (N) i32 position of every row; absent for learned positions. */
  rope?: { invFreq: GPUBuffer; positions: GPUBuffer };
  /** Fills acts.attn from acts.q, acts.k, acts.v (all after RoPE). */
  attention(acts: BlockActivations): void;
  /** Adds each adapted slot's LoRA term right after its base projection. */
  lora: LayerLoraRecorder;
}

/** y (rows, C) = norm(x) with the config's RMSNorm or LayerNorm. */
export function recordNorm(step: StepEncoder, config: ModelConfig, y: GPUBuffer, x: GPUBuffer, norm: GpuNorm, rows: number, stats: [GPUBuffer, GPUBuffer]): void {
  const dims = { rows, channels: config.hiddenSize };
  const options = { eps: config.normEps };
  if (config.norm === 'rms') rmsNormForward(step, y, stats[0], x, norm.weight, dims, options);
  else layerNormForward(step, y, stats[0], stats[1], x, norm.weight, norm.bias!, dims, options);
}

/**
 * y (N, sum of the group's outputs) = x projected by each slot of the group side by side per row (+ bias, +
 * each slot's LoRA into its columns): one product where the weights are back to back (w.qkv, w.gateUp).
 */
function projectGroup(step: StepEncoder, y: GPUBuffer, x: GPUBuffer, w: GpuLayerWeights, group: FusedGroup, rows: number, lora: LayerLoraRecorder): void {
  const fused = w[group];
  if (fused) linear(step, y, x, fused, rows);
  const { ld, slots } = groupColumns(w, group);
  for (const { slot, matrix, column } of slots) {
    if (!fused) linear(step, y, x, matrix, rows, { cols: { column, ld } });
    lora.add({ buffer: y, column, ld }, x, slot);
  }
}

/**
 * y (N, C) = residual + x W^T (+ b): in place where y is the residual; else the matmul adds the residual as it
 * stores y, with no copy of it into y first (a copy would also end the compute pass), except for a weight
 * with a bias (GPT-2), since the residual is read through the bias's binding.
 */
function addProjection(step: StepEncoder, y: GPUBuffer, residual: GPUBuffer, x: GPUBuffer, w: GpuMatrix, rows: number, channels: number): void {
  if (y === residual) linear(step, y, x, w, rows, { accumulate: true });
  else if (w.parts.some((part) => part.bias)) {
    step.copy(residual, 0, y, 0, rows * channels * 4);
    linear(step, y, x, w, rows, { accumulate: true });
  } else linear(step, y, x, w, rows, { residual });
}

/** Records one block with the weights w; the residual adds are fused into the o and down matmuls. */
export function recordBlock(step: StepEncoder, config: ModelConfig, weights: GpuLayerWeights, p: BlockPass): void {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F, hiddenSize: C } = config;
  const { rows: N, acts, lora } = p;
  // Nothing between here and down widens another weight, so the layer's f32 copies hold to the end.
  const w = widenLayer(step, weights, N);

  recordNorm(step, config, acts.h1, p.x, w.attnNorm, N, acts.attnStats);
  if (p.rope) {
    if (!p.qkvPre) throw new Error('a RoPE block projects q, k and v into one (N, Q + 2K) buffer: qkvPre is missing');
    projectGroup(step, p.qkvPre, acts.h1, w, 'qkv', N, lora);
    const dims = { batch: 1, seqLen: N, heads: Hq, kvHeads: Hkv, headDim: D };
    ropeQkv(step, p.qkvPre, { q: acts.q, k: acts.k, v: acts.v }, p.rope.invFreq, dims, { positions: p.rope.positions });
  } else {
    for (const slot of FUSED_GROUPS.qkv) {
      linear(step, acts[slot], acts.h1, w[slot], N);
      lora.add(acts[slot], acts.h1, slot);
    }
  }
  p.attention(acts);
  addProjection(step, p.mid, p.x, acts.attn, w.o, N, C);
  lora.add(p.mid, acts.attn, 'o');

  recordNorm(step, config, acts.h2, p.mid, w.mlpNorm, N, acts.mlpStats);
  if (config.mlp === 'swiglu') {
    projectGroup(step, acts.a, acts.h2, w, 'gateUp', N, lora);
    swiglu(step, acts.hidden, { gateUp: acts.a }, { rows: N, features: F });
  } else {
    linear(step, acts.a, acts.h2, w.up, N);
    lora.add(acts.a, acts.h2, 'up');
    gelu(step, acts.hidden, acts.a, N * F);
  }
  if (p.out) addProjection(step, p.out, p.mid, acts.hidden, w.down, N, C);
  lora.add(p.out, acts.hidden, 'down');
}
