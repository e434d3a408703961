// The block of gpu-layer.ts as generation records it: the N new tokens of all requests side by side, the
// residual stream updated in place, one scratch set shared by every layer, and attention per request over
// that request's KV cache. Only attention and the cache writes are per request; the norms, projections,
// RoPE and MLP each run once over all N rows, so a layer's weights are read once per step.
//
// Attention of one layer (R requests): 2R copies of the new k and v rows into their sequences' caches, then
// per request one attention over its cache (Tq = new tokens, Tk = cached + new): attentionDecode (split over
// the keys) for a request with one new token, attentionForward for a prefill. Each request has its own
// cache buffers, so requests cannot share a dispatch. With a LoRA adapter every adapted projection adds its
// low-rank term without dropout (gpu-lora-slots.ts).

import type { StepEncoder } from '../../gpu/step-encoder';
import { attentionForward } from '../../ops/gpu/attention';
import { attentionDecode, decodeWorkspaceBytes, type DecodeWorkspace } from '../../ops/gpu/attention-decode';
import type { ModelConfig } from '../config';
import { recordBlock, type BlockActivations } from './gpu-layer';
import { LayerLoraRecorder, type LayerLoraSlots } from './gpu-lora-slots';
import type { GpuLayerWeights } from './gpu-weights';
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

/**
 * Step temporaries shared by every layer (each layer overwrites them in turn). h1 and h2 are one (N, C)
 * buffer and the two norm statistics one pair: nothing of a layer is kept for later.
 */
export interface LayerScratch extends BlockActivations {
  /** (N, C) residual stream. */
  x: GPUBuffer;
  /** RoPE models: (N, (Hq + 2 Hkv) D) q, k, v as projected, side by side per row. */
  qkvPre?: GPUBuffer;
  /** (Hq, max new tokens of a request): attention's logsumexp, unused at inference. */
  lse: GPUBuffer;
  /** (N) i32 absolute position of every row, for RoPE. */
  positions: GPUBuffer;
}

export function allocateLayerScratch(step: StepEncoder, config: ModelConfig, rows: number, maxRequestRows: number, positions: GPUBuffer): LayerScratch {
  const { hiddenSize: C, numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F } = config;
  const f32 = (n: number, label: string) => step.temp(n * 4, label);
  const rope = config.positions === 'rope';
  const normed = f32(rows * C, 'normed');
  const stats: [GPUBuffer, GPUBuffer] = [f32(rows, 'norm stats'), f32(rows, 'norm stats')];
  const swiglu = config.mlp === 'swiglu';
  return {
    x: f32(rows * C, 'residual'),
    attnStats: stats,
    h1: normed,
    qkvPre: rope ? f32(rows * (Hq + 2 * Hkv) * D, 'q, k, v projected') : undefined,
    q: f32(rows * Hq * D, 'q'),
    k: f32(rows * Hkv * D, 'k'),
    v: f32(rows * Hkv * D, 'v'),
    attn: f32(rows * Hq * D, 'attention out'),
    lse: f32(Hq * maxRequestRows, 'attention lse'),
    mlpStats: stats,
    h2: normed,
    a: f32(rows * (swiglu ? 2 * F : F), swiglu ? 'mlp gate, up' : 'mlp fc'),
    hidden: f32(rows * F, 'mlp hidden'),
    positions,
  };
}

/** The decode partials of a step, shared by every layer and request (dispatches in a pass run in order). */
const decodeWorkspaces = new WeakMap<StepEncoder, { workspace: DecodeWorkspace; accBytes: number; statsBytes: number }>();

/** The step's workspace, (re)acquired when this layer's longest one-token request needs more. */
function decodeWorkspace(step: StepEncoder, config: ModelConfig, requests: readonly RequestRows[]): DecodeWorkspace | undefined {
  let tk = 0;
  for (const r of requests) if (r.count === 1) tk = Math.max(tk, r.past + 1);
  if (tk === 0) return undefined;
  const need = decodeWorkspaceBytes({ batch: 1, tk, hq: config.numHeads, hkv: config.numKvHeads, headDim: config.headDim });
  if (need.acc === 0) return undefined;
  const held = decodeWorkspaces.get(step);
  if (held && held.accBytes >= need.acc && held.statsBytes >= need.stats) return held.workspace;
  // Rounded up to a power of two: the pool then sees a few sizes as the caches grow, not one per chunk.
  const accBytes = 2 ** Math.ceil(Math.log2(need.acc));
  const statsBytes = 2 ** Math.ceil(Math.log2(need.stats));
  const workspace = { acc: step.temp(accBytes, 'attention.decode.partial_acc'), stats: step.temp(statsBytes, 'attention.decode.partial_stats') };
  decodeWorkspaces.set(step, { workspace, accBytes, statsBytes });
  return workspace;
}

/** Appends each request's new k, v rows to its caches, then attends over the cache, request by request. */
function recordCachedAttention(step: StepEncoder, config: ModelConfig, s: LayerScratch, layer: number, requests: readonly RequestRows[]): void {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = config;
  // Copies, not bindings at an offset: a binding's offset must be 256-byte aligned, a cache row is not.
  const kvRow = Hkv * D * 4;
  for (const r of requests) {
    const cache = r.caches[layer];
    step.copy(s.k, r.start * kvRow, cache.k, r.past * kvRow, r.count * kvRow);
    step.copy(s.v, r.start * kvRow, cache.v, r.past * kvRow, r.count * kvRow);
  }
  const workspace = decodeWorkspace(step, config, requests);
  for (const r of requests) {
    const cache = r.caches[layer];
    const qRows = { offset: r.start * Hq * D };
    const tk = r.past + r.count;
    if (r.count === 1) {
      const dims = { batch: 1, tk, hq: Hq, hkv: Hkv, headDim: D };
      attentionDecode(step, { out: s.attn, lse: s.lse }, s.q, cache.k, cache.v, dims, { q: qRows, out: qRows }, {}, workspace);
    } else {
      const dims = { batch: 1, tq: r.count, tk, hq: Hq, hkv: Hkv, headDim: D };
      attentionForward(step, s.attn, s.lse, s.q, cache.k, cache.v, dims, { q: qRows, out: qRows });
    }
  }
}

/** Records layer `index` for `rows` new tokens; s.x is updated in place. */
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
  recordBlock(step, config, w, {
    rows,
    x: s.x,
    mid: s.x,
    out: s.x,
    qkvPre: s.qkvPre,
    acts: s,
    rope: invFreq && { invFreq, positions: s.positions },
    attention: () => recordCachedAttention(step, config, s, index, requests),
    lora: new LayerLoraRecorder(step, loraSlots, rows),
  });
}
