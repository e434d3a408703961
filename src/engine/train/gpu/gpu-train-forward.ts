// The training forward of one transformer block over the packed rows of a micro-batch, keeping what the
// backward needs (LayerActivations). Unlike inference (gpu-layer.ts) there is no KV cache: attention reads
// this step's k and v, one call per group of equal-length sequences, each sequence attending only to itself;
// and the layer input is left intact (the residual adds go into xMid and the output buffer), since the
// backward needs it.
//
//   x -> norm -> q, k, v (+ LoRA) -> RoPE -> attention per group -> xMid = x + o(attn) (+ LoRA)
//     -> norm -> gate, up (+ LoRA) -> SwiGLU (or c_fc -> GELU) -> out = xMid + down(hidden) (+ LoRA)

import type { LinearSlot } from '../../lora/lora-config';
import { recordNorm } from '../../model/gpu/gpu-layer';
import { linear } from '../../model/gpu/gpu-linear';
import type { LayerLoraSlots } from '../../model/gpu/gpu-lora-slots';
import { gelu, swiglu } from '../../ops/gpu/activations';
import { attentionForward } from '../../ops/gpu/attention';
import { ropeForward } from '../../ops/gpu/rope';
import type { LayerActivations, TrainGraph } from './gpu-train-graph';

/** Adds each slot's LoRA after its base projection, computing x A^T once per module. */
class LoraForward {
  private readonly done = new Set<number>();

  constructor(
    private readonly g: TrainGraph,
    private readonly slots: LayerLoraSlots | undefined,
    private readonly acts: LayerActivations,
  ) {}

  /** y += the slot's LoRA term of input x (y null: only compute and save u). */
  add(y: GPUBuffer | null, x: GPUBuffer, slot: LinearSlot): void {
    const lora = this.slots?.[slot];
    if (!lora) return;
    const first = !this.done.has(lora.module);
    this.done.add(lora.module);
    this.g.loraForward(y, x, lora, this.g.uOf(this.acts, this.slots!, lora), first);
  }
}

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
  const { step, config, rows: N } = g;
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F, hiddenSize: C } = config;
  const w = g.weights.layers[l];
  const lora = new LoraForward(g, g.layerSlots(l), acts);

  recordNorm(step, config, acts.h1, x, w.attnNorm, N, acts.attnStats);
  const [q, k] = g.projectionTargets(acts);
  linear(step, q, acts.h1, w.q, N);
  lora.add(q, acts.h1, 'q');
  linear(step, k, acts.h1, w.k, N);
  lora.add(k, acts.h1, 'k');
  linear(step, acts.v, acts.h1, w.v, N);
  lora.add(acts.v, acts.h1, 'v');
  if (g.invFreq) {
    const options = { positions: g.positions };
    ropeForward(step, acts.q, q, g.invFreq, { batch: 1, seqLen: N, heads: Hq, headDim: D }, options);
    ropeForward(step, acts.k, k, g.invFreq, { batch: 1, seqLen: N, heads: Hkv, headDim: D }, options);
  }
  recordAttention(g, acts);
  step.copy(x, 0, acts.xMid, 0, N * C * 4);
  linear(step, acts.xMid, acts.attn, w.o, N, true);
  lora.add(acts.xMid, acts.attn, 'o');

  recordNorm(step, config, acts.h2, acts.xMid, w.mlpNorm, N, acts.mlpStats);
  if (config.mlp === 'swiglu') {
    linear(step, acts.a, acts.h2, w.gate!, N);
    lora.add(acts.a, acts.h2, 'gate');
    linear(step, acts.b!, acts.h2, w.up, N);
    lora.add(acts.b!, acts.h2, 'up');
    swiglu(step, acts.hidden, { gate: acts.a, up: acts.b! }, { rows: N, features: F });
  } else {
    linear(step, acts.a, acts.h2, w.up, N);
    lora.add(acts.a, acts.h2, 'up');
    gelu(step, acts.hidden, acts.a, N * F);
  }
  if (out) {
    step.copy(acts.xMid, 0, out, 0, N * C * 4);
    linear(step, out, acts.hidden, w.down, N, true);
  }
  lora.add(out, acts.hidden, 'down');
}
