// The backward of one transformer block down to its LoRA parameters (the base is frozen: only input
// gradients flow through its weights). dx (N, C) holds the gradient of the block's output on entry and of
// its input on exit (the residual connections make both updates in-place accumulations).
//
//   dHidden = dx W_down (+ LoRA)  -> SwiGLU / GELU backward -> dh2 = da W_gate + db W_up (+ LoRA)
//   dx += norm backward (dh2)     -> dAttn = dx W_o (+ LoRA) -> attention backward per group
//   -> RoPE backward -> dh1 = dq W_q + dk W_k + dv W_v (+ LoRA) -> dx += norm backward (dh1)
// Every LoRA module adds its A and B gradients into the adapter's gradient arena (+=, so micro-batches
// accumulate).

import { LINEAR_SLOTS, type LinearSlot } from '../../lora/lora-config';
import { linearBackwardInput } from '../../model/gpu/gpu-linear';
import type { SlotLora } from '../../model/gpu/gpu-lora-slots';
import { widenLayer } from '../../model/gpu/widened-layer';
import { geluBackward, swigluBackward } from '../../ops/gpu/activations';
import { attentionBackward } from '../../ops/gpu/attention';
import { ropePair } from '../../ops/gpu/rope';
import type { LayerActivations, TrainGraph } from './gpu-train-graph';

/**
 * LoRA backward of the given slots (with the gradient of each slot's output), module by module: a module
 * feeding several of them (GPT-2's c_attn) sums their dU before its one dA. x is their common input.
 */
function loraSlotsBackward(g: TrainGraph, l: number, acts: LayerActivations, dys: Partial<Record<LinearSlot, GPUBuffer>>, x: GPUBuffer, dx: GPUBuffer): void {
  const slots = g.layerSlots(l);
  if (!slots) return;
  const byModule = new Map<number, { lora: SlotLora; dy: GPUBuffer }[]>();
  for (const slot of LINEAR_SLOTS) {
    const lora = slots[slot];
    const dy = dys[slot];
    if (!lora || !dy) continue;
    const list = byModule.get(lora.module) ?? [];
    list.push({ lora, dy });
    byModule.set(lora.module, list);
  }
  for (const entries of byModule.values()) g.loraBackward(entries, x, g.uOf(acts, slots, entries[0].lora), dx);
}

/** Attention backward per group of equal-length sequences: dq, dk, dv (after RoPE) from dAttn. */
function attentionGroupsBackward(g: TrainGraph, acts: LayerActivations): void {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = g.config;
  const s = g.scratch();
  for (const group of g.packed.groups) {
    const T = group.length;
    const qRows = { offset: group.firstRow * Hq * D };
    const kvRows = { offset: group.firstRow * Hkv * D };
    const dims = { batch: group.sequences, tq: T, tk: T, hq: Hq, hkv: Hkv, headDim: D };
    const lse = { buffer: acts.lse, offset: group.lseOffset * 4, size: group.sequences * Hq * T * 4 };
    const layouts = { q: qRows, k: kvRows, v: kvRows, out: qRows, dout: qRows, dq: qRows, dk: kvRows, dv: kvRows };
    attentionBackward(g.step, { dq: s.dq, dk: s.dk, dv: s.dv }, s.dAttn, { q: acts.q, k: acts.k, v: acts.v, out: acts.attn, lse }, dims, layouts);
  }
}

/** Records the backward of layer l whose input was x; dx is updated in place. */
export function recordTrainLayerBackward(g: TrainGraph, l: number, x: GPUBuffer, acts: LayerActivations, dx: GPUBuffer): void {
  const { step, config, rows: N } = g;
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F } = config;
  // The layer's weights widened once for the whole backward (nothing in it widens another weight).
  const w = widenLayer(step, g.weights.layers[l], N);
  const s = g.scratch();

  // MLP.
  linearBackwardInput(step, s.dHidden, dx, w.down, N);
  loraSlotsBackward(g, l, acts, { down: dx }, acts.hidden, s.dHidden);
  if (config.mlp === 'swiglu') {
    const db = s.db!;
    swigluBackward(step, { dgate: s.da, dup: db }, { gate: acts.a, up: acts.b! }, s.dHidden, { rows: N, features: F });
    linearBackwardInput(step, s.dh, s.da, w.gate!, N);
    linearBackwardInput(step, s.dh, db, w.up, N, true);
    loraSlotsBackward(g, l, acts, { gate: s.da, up: db }, acts.h2, s.dh);
  } else {
    geluBackward(step, s.da, acts.a, s.dHidden, N * F);
    linearBackwardInput(step, s.dh, s.da, w.up, N);
    loraSlotsBackward(g, l, acts, { up: s.da }, acts.h2, s.dh);
  }
  g.normBackward(dx, s.dh, acts.xMid, w.mlpNorm, acts.mlpStats, true);

  // Attention.
  linearBackwardInput(step, s.dAttn, dx, w.o, N);
  loraSlotsBackward(g, l, acts, { o: dx }, acts.attn, s.dAttn);
  attentionGroupsBackward(g, acts);
  if (g.invFreq) {
    const options = { positions: g.positions };
    const dk = { out: s.dkPre, x: s.dk, heads: Hkv };
    ropePair(step, 'backward', { out: s.dqPre, x: s.dq }, dk, g.invFreq, { batch: 1, seqLen: N, heads: Hq, headDim: D }, options);
  }
  linearBackwardInput(step, s.dh, s.dqPre, w.q, N);
  linearBackwardInput(step, s.dh, s.dkPre, w.k, N, true);
  linearBackwardInput(step, s.dh, s.dv, w.v, N, true);
  loraSlotsBackward(g, l, acts, { q: s.dqPre, k: s.dkPre, v: s.dv }, acts.h1, s.dh);
  g.normBackward(dx, s.dh, x, w.attnNorm, acts.attnStats, true);
}
