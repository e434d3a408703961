// One transformer block of the GPU model, recorded into a step for the N new tokens of all requests at once
// (rows of every request side by side). Only attention and the cache writes are per request; the norms,
// projections, RoPE and MLP each run once over all N rows, so a layer's weights are read once per step.
//
// Dispatches of one layer (R requests):
//   norm; q, k, v projections (+ bias); RoPE on q and k (positions per row); 2R copies of the new k and v
//   rows into their sequences' caches; R attention dispatches (Tq = new tokens, Tk = cached + new);
//   o projection accumulated into the residual stream; norm; MLP (gate, up, SwiGLU, down accumulated into
//   the residual; or fc, GELU, proj accumulated).
// With a LoRA adapter, every adapted projection adds its low-rank term right after its base matmul
// (gpu-lora-slots.ts): two more small matmuls per slot, one of them shared by the slots of one module.

import type { StepEncoder } from '../../gpu/step-encoder';
import { gelu, swiglu } from '../../ops/gpu/activations';
import { attentionForward } from '../../ops/gpu/attention';
import { layerNormForward, rmsNormForward } from '../../ops/gpu/norms';
import { ropeForward } from '../../ops/gpu/rope';
import type { ModelConfig } from '../config';
import { linear } from './gpu-linear';
import { LayerLoraRecorder, type LayerLoraSlots } from './gpu-lora-slots';
import type { GpuLayerWeights, GpuNorm } from './gpu-weights';
import type { LayerKvBuffers } from './kv-cache';

/** Where one request's new tokens sit among the step's rows, and its sequence's caches. */
export interface RequestRows {
  /** First row of the request in the step's (N, ...) activations. */
  start: number;
  /** New tokens. */
  count: number;
  /** Positions already cached (the first new token's position). */
  past: number;
  caches: readonly LayerKvBuffers[];
}

/** Step temporaries shared by every layer (each layer overwrites them in turn). */
export interface LayerScratch {
  /** (N, C) residual stream. */
  x: GPUBuffer;
  /** (N, C) normed input of attention or MLP. */
  h: GPUBuffer;
  /** (N) rstd (RMSNorm) or mean (LayerNorm); (N) rstd (LayerNorm). */
  stats: [GPUBuffer, GPUBuffer];
  /** (N, Hq * D) projected, then (RoPE models) rotated queries. */
  q: GPUBuffer;
  qRot: GPUBuffer;
  /** (N, Hkv * D) */
  k: GPUBuffer;
  kRot: GPUBuffer;
  v: GPUBuffer;
  /** (N, Hq * D) attention output. */
  attn: GPUBuffer;
  /** (Hq, max new tokens of a request): attention's logsumexp, unused at inference. */
  lse: GPUBuffer;
  /** (N, F) each: gate, up and activated hidden (GELU uses the first and the last). */
  mlp: [GPUBuffer, GPUBuffer, GPUBuffer];
  /** (N) i32 absolute position of every row, for RoPE. */
  positions: GPUBuffer;
}

export function allocateLayerScratch(step: StepEncoder, config: ModelConfig, rows: number, maxRequestRows: number, positions: GPUBuffer): LayerScratch {
  const { hiddenSize: C, numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F } = config;
  const f32 = (n: number, label: string) => step.temp(n * 4, label);
  const rope = config.positions === 'rope';
  const q = f32(rows * Hq * D, 'q');
  const k = f32(rows * Hkv * D, 'k');
  return {
    x: f32(rows * C, 'residual'),
    h: f32(rows * C, 'normed'),
    stats: [f32(rows, 'norm stats'), f32(rows, 'norm stats')],
    q,
    qRot: rope ? f32(rows * Hq * D, 'q rotated') : q,
    k,
    kRot: rope ? f32(rows * Hkv * D, 'k rotated') : k,
    v: f32(rows * Hkv * D, 'v'),
    attn: f32(rows * Hq * D, 'attention out'),
    lse: f32(Hq * maxRequestRows, 'attention lse'),
    mlp: [f32(rows * F, 'mlp a'), f32(rows * F, 'mlp b'), f32(rows * F, 'mlp hidden')],
    positions,
  };
}

/** y (rows, C) = norm(x) with the config's RMSNorm or LayerNorm. */
export function recordNorm(step: StepEncoder, config: ModelConfig, y: GPUBuffer, x: GPUBuffer, norm: GpuNorm, rows: number, stats: [GPUBuffer, GPUBuffer]): void {
  const dims = { rows, channels: config.hiddenSize };
  const options = { eps: config.normEps };
  if (config.norm === 'rms') rmsNormForward(step, y, stats[0], x, norm.weight, dims, options);
  else layerNormForward(step, y, stats[0], stats[1], x, norm.weight, norm.bias!, dims, options);
}

/** Records layer `index` for `rows` new tokens; x is updated in place (residual adds fused into matmuls). */
export function recordLayer(
  step: StepEncoder,
  config: ModelConfig,
  w: GpuLayerWeights,
  index: number,
  s: LayerScratch,
  rows: number,
  requests: readonly RequestRows[],
  invFreq: GPUBuffer | undefined,
  loraSlots?: LayerLoraSlots,
): void {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F } = config;
  const lora = new LayerLoraRecorder(step, loraSlots, rows);
  recordNorm(step, config, s.h, s.x, w.attnNorm, rows, s.stats);
  linear(step, s.q, s.h, w.q, rows);
  lora.add(s.q, s.h, 'q');
  linear(step, s.k, s.h, w.k, rows);
  lora.add(s.k, s.h, 'k');
  linear(step, s.v, s.h, w.v, rows);
  lora.add(s.v, s.h, 'v');
  if (invFreq) {
    // One RoPE dispatch per tensor over every request's rows: positions[i] is row i's absolute position.
    const options = { positions: s.positions };
    ropeForward(step, s.qRot, s.q, invFreq, { batch: 1, seqLen: rows, heads: Hq, headDim: D }, options);
    ropeForward(step, s.kRot, s.k, invFreq, { batch: 1, seqLen: rows, heads: Hkv, headDim: D }, options);
  }
  // Copies, not bindings at an offset: a binding's offset must be 256-byte aligned, a cache row is not.
  const kvRow = Hkv * D * 4;
  for (const r of requests) {
    const cache = r.caches[index];
    step.copy(s.kRot, r.start * kvRow, cache.k, r.past * kvRow, r.count * kvRow);
    step.copy(s.v, r.start * kvRow, cache.v, r.past * kvRow, r.count * kvRow);
  }
  for (const r of requests) {
    const cache = r.caches[index];
    const qRows = { offset: r.start * Hq * D };
    const dims = { batch: 1, tq: r.count, tk: r.past + r.count, hq: Hq, hkv: Hkv, headDim: D };
    attentionForward(step, s.attn, s.lse, s.qRot, cache.k, cache.v, dims, { q: qRows, out: qRows });
  }
  linear(step, s.x, s.attn, w.o, rows, true);
  lora.add(s.x, s.attn, 'o');

  recordNorm(step, config, s.h, s.x, w.mlpNorm, rows, s.stats);
  const [a, b, hidden] = s.mlp;
  if (config.mlp === 'swiglu') {
    linear(step, a, s.h, w.gate!, rows);
    lora.add(a, s.h, 'gate');
    linear(step, b, s.h, w.up, rows);
    lora.add(b, s.h, 'up');
    swiglu(step, hidden, { gate: a, up: b }, { rows, features: F });
  } else {
    linear(step, a, s.h, w.up, rows);
    lora.add(a, s.h, 'up');
    gelu(step, hidden, a, rows * F);
  }
  linear(step, s.x, hidden, w.down, rows, true);
  lora.add(s.x, hidden, 'down');
}
