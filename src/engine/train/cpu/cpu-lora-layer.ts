// One transformer block of the CPU training reference for one sequence of T tokens at positions 0..T-1,
// with causal attention within it: the forward is the model's one block (src/engine/model/cpu-layer.ts)
// with a LoRA branch on every adapted slot, keeping what the backward needs; the backward is here.

import { geluBackward, swigluBackward } from '../../ops/cpu/activations';
import { attentionBackward, type AttentionDims } from '../../ops/cpu/attention';
import { layerNormBackward, rmsNormBackward } from '../../ops/cpu/norms';
import { ropeBackward } from '../../ops/cpu/rope';
import type { ModelConfig } from '../../model/config';
import { blockForward, type BlockSaved, type NormSaved, type SlotLinear } from '../../model/cpu-layer';
import type { CpuLayer, CpuNorm } from '../../model/cpu-weights';
import type { LinearSlot } from '../../lora/lora-config';
import type { LayerBindings } from './cpu-lora-adapter';
import type { CpuTrainModel } from './cpu-train-model';
import { loraLinearBackward, loraLinearForward, type ModuleGrads, type SlotLora, type SlotLoraSaved } from './cpu-lora-linear';

/** dx += the norm's input gradient (its weights are frozen). */
export function normBackward(config: ModelConfig, dx: Float64Array, dout: Float64Array, n: CpuNorm, s: NormSaved, T: number): void {
  const C = config.hiddenSize;
  if (config.norm === 'rms') rmsNormBackward(dx, null, dout, s.x, n.weight, s.rstd, T, C);
  else layerNormBackward(dx, null, null, dout, s.x, n.weight, s.mean, s.rstd, T, C);
}

/** The LoRA of each adapted slot of one layer (for one sequence: masks are per sequence). */
export type LayerLora = Partial<Record<LinearSlot, SlotLora>>;

/** The block's activations and, per adapted slot, its LoRA branch's inputs. */
export interface LayerSaved extends BlockSaved {
  lora: Partial<Record<LinearSlot, SlotLoraSaved>>;
}

function attentionDims(config: ModelConfig, T: number): AttentionDims {
  return { batch: 1, tq: T, tk: T, hq: config.numHeads, hkv: config.numKvHeads, headDim: config.headDim };
}

/** Returns the block's output (T, C) for its input x (T, C), and what the backward needs. */
export function loraLayerForward(model: CpuTrainModel, layer: CpuLayer, lora: LayerLora, x: Float64Array, T: number): { x: Float64Array; saved: LayerSaved } {
  const savedLora: LayerSaved['lora'] = {};
  // Every slot, adapted or not, runs through dense.ts's loops (bit-equal to the base product, and faster:
  // finite differences run hundreds of forwards).
  const linear: SlotLinear = (slot, input, w) => {
    const { y, saved } = loraLinearForward(input, w, T, lora[slot]);
    if (saved) savedLora[slot] = saved;
    return y;
  };
  const { out, saved } = blockForward(model.config, layer, x, T, { invFreq: model.invFreq, linear });
  return { x: out, saved: { ...saved, lora: savedLora } };
}

/**
 * From dOut (T, C), the gradient of the block's output, returns the gradient of its input and adds the
 * LoRA gradients of this layer's slots into `grads` (indexed by adapter module, as `bindings` says).
 */
export function loraLayerBackward(
  model: CpuTrainModel,
  layer: CpuLayer,
  lora: LayerLora,
  bindings: LayerBindings,
  saved: LayerSaved,
  dOut: Float64Array,
  T: number,
  grads: ModuleGrads[],
): Float64Array {
  const { config } = model;
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = config;
  const w = layer.linears;
  const linearBack = (slot: LinearSlot, dx: Float64Array, dy: Float64Array): void => {
    const bound = bindings[slot];
    loraLinearBackward(dx, dy, w[slot]!, T, lora[slot], saved.lora[slot], bound && grads[bound.module]);
  };

  // MLP branch: x2 = x1 + down(act(...)).
  const dAct = new Float64Array(saved.act.length);
  linearBack('down', dAct, dOut);
  const dUp = new Float64Array(saved.up.length);
  const dMlpIn = new Float64Array(saved.mlpNorm.out.length);
  if (config.mlp === 'swiglu') {
    const dGate = new Float64Array(saved.gate!.length);
    swigluBackward(dGate, dUp, saved.gate!, saved.up, dAct);
    linearBack('gate', dMlpIn, dGate);
  } else {
    geluBackward(dUp, saved.up, dAct);
  }
  linearBack('up', dMlpIn, dUp);
  const dx1 = Float64Array.from(dOut); // the residual path
  normBackward(config, dx1, dMlpIn, layer.mlpNorm, saved.mlpNorm, T);

  // Attention branch: x1 = x + o(attention(rope(q), rope(k), v)).
  const dAttn = new Float64Array(saved.attn.length);
  linearBack('o', dAttn, dx1);
  const dq = new Float64Array(saved.q.length);
  const dk = new Float64Array(saved.k.length);
  const dv = new Float64Array(saved.v.length);
  attentionBackward(dq, dk, dv, dAttn, saved.q, saved.k, saved.v, attentionDims(config, T));
  let dqIn = dq;
  let dkIn = dk;
  if (config.positions === 'rope') {
    dqIn = new Float64Array(dq.length);
    dkIn = new Float64Array(dk.length);
    ropeBackward(dqIn, dq, model.invFreq, { B: 1, T, H: Hq, D });
    ropeBackward(dkIn, dk, model.invFreq, { B: 1, T, H: Hkv, D });
  }
  const dAttnIn = new Float64Array(saved.attnNorm.out.length);
  linearBack('q', dAttnIn, dqIn);
  linearBack('k', dAttnIn, dkIn);
  linearBack('v', dAttnIn, dv);
  const dx = Float64Array.from(dx1);
  normBackward(config, dx, dAttnIn, layer.attnNorm, saved.attnNorm, T);
  return dx;
}
