// The backward of one transformer block down to its LoRA parameters (the base is frozen: only input
// gradients flow through its weights). dx (N, C) holds the gradient of the block's output on entry and of
// its input on exit (the residual connections make both updates in-place accumulations).
//
//   dHidden = dx W_down (+ LoRA)  -> SwiGLU / GELU backward -> dh2 = [da | db] [W_gate; W_up] (+ LoRA)
//   dx += norm backward (dh2)     -> dAttn = dx W_o (+ LoRA) -> attention backward per group
//   -> attention backward into [dq | dk | dv] -> RoPE backward in place -> dh1 = that @ [W_q; W_k; W_v] (+ LoRA) -> dx += norm backward (dh1)
// Fused groups are one product each where the layer's weights are back to back (gpu-weights.ts).
// Every LoRA module adds its A and B gradients into the adapter's gradient arena (+=, so micro-batches
// accumulate).

import { LINEAR_SLOTS, type LinearSlot } from '../../lora/lora-config';
import { linearBackwardInput } from '../../model/gpu/gpu-linear';
import { uKey, type SlotLora, type SlotOutput } from '../../model/gpu/gpu-lora-slots';
import { groupColumns, type FusedGroup, type GpuLayerWeights } from '../../model/gpu/gpu-weights';
import { widenLayer } from '../../model/gpu/widened-layer';
import { geluBackward, swigluBackward } from '../../ops/gpu/activations';
import { attentionBackward } from '../../ops/gpu/attention';
import { ropeQkvBackward } from '../../ops/gpu/rope';
import type { LayerActivations, TrainGraph } from './gpu-train-graph';

/**
 * LoRA backward of the given slots (with the gradient of each slot's output), module by module or down group
 * by down group (gpu-lora-slots.ts): a module feeding several of them (GPT-2's c_attn) sums their dU before its
 * one dA; a group's modules share one dA and one dx product. x is their common input.
 */
function loraSlotsBackward(g: TrainGraph, l: number, acts: LayerActivations, dys: Partial<Record<LinearSlot, SlotOutput>>, x: GPUBuffer, dx: GPUBuffer): void {
  const slots = g.layerSlots(l);
  if (!slots) return;
  const byU = new Map<number, { lora: SlotLora; dy: SlotOutput }[]>();
  for (const slot of LINEAR_SLOTS) {
    const lora = slots[slot];
    const dy = dys[slot];
    if (!lora || !dy) continue;
    const list = byU.get(uKey(lora)) ?? [];
    list.push({ lora, dy });
    byU.set(uKey(lora), list);
  }
  for (const entries of byU.values()) g.loraBackward(entries, x, g.uOf(acts, slots, entries[0].lora), dx);
}

/**
 * The input gradient of a fused group's projection, dx (N, in) = dy (N, sum of outputs) @ [W_a; W_b; ...]
 * (one product where the weights are back to back, else one per slot over its columns), and each slot's
 * output gradient as its columns of dy (for the LoRA backward).
 */
function groupBackwardInput(g: TrainGraph, dx: GPUBuffer, dy: GPUBuffer, w: GpuLayerWeights, group: FusedGroup): Partial<Record<LinearSlot, SlotOutput>> {
  const fused = w[group];
  if (fused) linearBackwardInput(g.step, dx, dy, fused, g.rows);
  const { ld, slots } = groupColumns(w, group);
  const views: Partial<Record<LinearSlot, SlotOutput>> = {};
  slots.forEach(({ slot, matrix, column }, i) => {
    if (!fused) linearBackwardInput(g.step, dx, dy, matrix, g.rows, { accumulate: i > 0, cols: { column, ld } });
    views[slot] = { buffer: dy, column, ld };
  });
  return views;
}

/** Attention backward per group of equal-length sequences: dq, dk, dv (after RoPE) into the fused (N, Q + 2K) rows. */
function attentionGroupsBackward(g: TrainGraph, acts: LayerActivations, dqkv: GPUBuffer): void {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = g.config;
  const s = g.scratch();
  const [Q, K] = [Hq * D, Hkv * D];
  const W = Q + 2 * K;
  for (const group of g.packed.groups) {
    const T = group.length;
    const qRows = { offset: group.firstRow * Q };
    const kvRows = { offset: group.firstRow * K };
    const fusedRows = (column: number) => ({ offset: group.firstRow * W + column, rowStride: W });
    const dims = { batch: group.sequences, tq: T, tk: T, hq: Hq, hkv: Hkv, headDim: D };
    const lse = { buffer: acts.lse, offset: group.lseOffset * 4, size: group.sequences * Hq * T * 4 };
    const layouts = { q: qRows, k: kvRows, v: kvRows, out: qRows, dout: qRows, dq: fusedRows(0), dk: fusedRows(Q), dv: fusedRows(Q + K) };
    attentionBackward(g.step, { dq: dqkv, dk: dqkv, dv: dqkv }, s.dAttn, { q: acts.q, k: acts.k, v: acts.v, out: acts.attn, lse }, dims, layouts);
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
    swigluBackward(step, { dgateUp: s.da }, { gateUp: acts.a }, s.dHidden, { rows: N, features: F });
    loraSlotsBackward(g, l, acts, groupBackwardInput(g, s.dh, s.da, w, 'gateUp'), acts.h2, s.dh);
  } else {
    geluBackward(step, s.da, acts.a, s.dHidden, N * F);
    linearBackwardInput(step, s.dh, s.da, w.up, N);
    loraSlotsBackward(g, l, acts, { up: s.da }, acts.h2, s.dh);
  }
  g.normBackward(dx, s.dh, acts.xMid, w.mlpNorm, acts.mlpStats, true);

  // Attention.
  linearBackwardInput(step, s.dAttn, dx, w.o, N);
  loraSlotsBackward(g, l, acts, { o: dx }, acts.attn, s.dAttn);
  attentionGroupsBackward(g, acts, s.dqkv);
  if (g.invFreq) {
    const dims = { batch: 1, seqLen: N, heads: Hq, kvHeads: Hkv, headDim: D };
    ropeQkvBackward(step, s.dqkv, g.invFreq, dims, { positions: g.positions });
  }
  // [dq | dk | dv] as the projection wrote [q | k | v]: one product back to h1 where the weights are back to back.
  loraSlotsBackward(g, l, acts, groupBackwardInput(g, s.dh, s.dqkv, w, 'qkv'), acts.h1, s.dh);
  g.normBackward(dx, s.dh, x, w.attnNorm, acts.attnStats, true);
}
