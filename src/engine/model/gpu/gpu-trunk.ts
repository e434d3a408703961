// The part of a forward that generation and scoring share: the requests' new tokens placed side by side as
// N rows, ids and positions written, embedding, then every layer (gpu-inference-layer.ts) appending each
// request's k, v rows to its own KV cache. What follows (LM head logits, or scored rows' statistics) is the
// caller's; the residual stream after the last layer is scratch.x.

import type { GpuContext } from '../../gpu/context';
import type { StepEncoder } from '../../gpu/step-encoder';
import type { ModelConfig } from '../config';
import { recordEmbedding } from './gpu-embed';
import { allocateLayerScratch, recordLayer, type LayerScratch, type RequestRows } from './gpu-inference-layer';
import type { GpuLoraSlots } from './gpu-lora-slots';
import type { GpuModelWeights } from './gpu-weights';
import type { LayerKvBuffers } from './kv-cache';

/** What the trunk reads of the model. */
export interface TrunkModel {
  ctx: GpuContext;
  config: ModelConfig;
  weights: GpuModelWeights;
  invFreq: GPUBuffer | undefined;
  adapter: GpuLoraSlots | null;
}

/** One request's new tokens and where its sequence's cache stands. */
export interface TrunkRequest {
  tokens: ArrayLike<number>;
  /** Positions already cached. */
  past: number;
  caches: readonly LayerKvBuffers[];
}

/** The requests as consecutive rows of the step's (N, ...) activations. */
export function placeRows(requests: readonly TrunkRequest[]): { rows: RequestRows[]; total: number } {
  let start = 0;
  const rows = requests.map((r) => {
    const placed = { start, count: r.tokens.length, past: r.past, caches: r.caches };
    start += r.tokens.length;
    return placed;
  });
  return { rows, total: start };
}

/** The step's widest activation must fit one binding: tell the caller to split the prompt otherwise. */
export function checkStepSize(ctx: GpuContext, config: ModelConfig, N: number): void {
  const { hiddenSize: C, numHeads: Hq, headDim: D, intermediateSize: F } = config;
  const bytes = N * Math.max(C, Hq * D, F) * 4;
  const limit = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  if (bytes > limit) {
    const most = Math.floor(limit / (Math.max(C, Hq * D, F) * 4));
    throw new RangeError(`extend: ${N} tokens in one call need ${bytes}-byte activations, more than this adapter binds (${limit}); extend at most ${most} tokens at a time`);
  }
}

/** Records embedding and every layer for the placed rows; returns the scratch whose x is the residual stream. */
export function recordTrunk(step: StepEncoder, model: TrunkModel, requests: readonly { tokens: ArrayLike<number> }[], rows: readonly RequestRows[], N: number): LayerScratch {
  const { config, weights, ctx } = model;
  const ids = new Uint32Array(N);
  const positions = new Int32Array(N);
  rows.forEach((r, i) => {
    const tokens = requests[i].tokens;
    for (let t = 0; t < r.count; t++) {
      ids[r.start + t] = tokens[t];
      positions[r.start + t] = r.past + t;
    }
  });
  const idsBuffer = step.temp(N * 4, 'token ids');
  const positionsBuffer = step.temp(N * 4, 'positions');
  ctx.write(idsBuffer, ids);
  ctx.write(positionsBuffer, positions);

  const maxCount = Math.max(...rows.map((r) => r.count));
  const s = allocateLayerScratch(step, config, N, maxCount, positionsBuffer);
  recordEmbedding(step, s.x, idsBuffer, weights.tokenEmbedding, N, positionsBuffer, weights.positionEmbedding);
  weights.layers.forEach((layer, l) => recordLayer(step, config, layer, l, s, N, rows, model.invFreq, model.adapter?.layers[l]));
  return s;
}
