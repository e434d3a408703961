// The block of gpu-layer.ts as training records it over the packed rows of a micro-batch, keeping what the
// backward needs (LayerActivations). Unlike generation there is no KV cache: attention reads this step's k
// and v, one call per group of equal-length sequences, each sequence attending only to itself; the layer
// input is left intact (the residual adds go into xMid and the output buffer), since the backward needs it;
// and each LoRA branch reads dropout(x) and keeps its u = dropout(x) A^T.
//
//   x -> norm -> q, k, v (+ LoRA) -> RoPE (q, k; v copied out of the fused rows) -> attention per group -> xMid = x + o(attn) (+ LoRA)
//     -> norm -> gate, up (+ LoRA) -> SwiGLU (or c_fc -> GELU) -> out = xMid + down(hidden) (+ LoRA)

import { recordBlock } from '../../model/gpu/gpu-layer';
import { LayerLoraRecorder } from '../../model/gpu/gpu-lora-slots';
import { attentionForward } from '../../ops/gpu/attention';
import type { LayerActivations, TrainGraph } from './gpu-train-graph';

/** The attention calls of the packed batch: out and lse from q, k, v, each group at its rows. */
export function recordAttention(g: TrainGraph, acts: LayerActivations): void {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = g.config;
  for (const group of g.packed.groups) {
    const T = group.length;
    const qRows = { offset: group.firstRow * Hq * D };
    const kvRows = { offset: group.firstRow * Hkv * D };
    const dims = { batch: group.sequences, tq: T, tk: T, hq: Hq, hkv: Hkv, headDim: D };
    const lse = { buffer: acts.lse, offset: group.lseOffset * 4, size: group.sequences * Hq * T * 4 };
    attentionForward(g.step, acts.attn, lse, acts.q, acts.k, acts.v, dims, { q: qRows, k: kvRows, v: kvRows, out: qRows });
  }
}

/**
 * Records layer `l` on input x (N, C), filling acts. `out` receives x + attention + MLP; null skips the last
 * residual projection (recomputation before the backward needs everything but the output).
 */
export function recordTrainLayer(g: TrainGraph, l: number, x: GPUBuffer, acts: LayerActivations, out: GPUBuffer | null): void {
  const slots = g.layerSlots(l);
  const lora = new LayerLoraRecorder(g.step, slots, g.rows, {
    u: (slot) => g.uOf(acts, slots!, slot),
    input: (input, slot) => g.loraInput(input, slot),
  });
  recordBlock(g.step, g.config, g.weights.layers[l], {
    rows: g.rows,
    x,
    mid: acts.xMid,
    out,
    qkvPre: g.qkvPre(),
    acts,
    rope: g.invFreq && { invFreq: g.invFreq, positions: g.positions },
    attention: () => recordAttention(g, acts),
    lora,
  });
}
