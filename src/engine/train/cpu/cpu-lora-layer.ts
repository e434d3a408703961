// One transformer block of the CPU training reference, forward (keeping what the backward needs) and
// backward, for one sequence of T tokens at positions 0..T-1 with causal attention within it. The math is
// the inference reference's (src/engine/model/cpu-layer.ts) with a LoRA branch on every adapted slot.

import { geluBackward, geluForward, swigluBackward, swigluForward } from '../../ops/cpu/activations';
import { attentionBackward, attentionForward, type AttentionDims } from '../../ops/cpu/attention';
import { layerNormBackward, layerNormForward, rmsNormBackward, rmsNormForward } from '../../ops/cpu/norms';
import { ropeBackward, ropeForward } from '../../ops/cpu/rope';
import type { ModelConfig } from '../../model/config';
import type { LinearSlot } from '../../lora/lora-config';
import type { LayerBindings } from './cpu-lora-adapter';
import type { CpuTrainModel, TrainLayer, TrainNorm } from './cpu-train-model';
import { loraLinearBackward, loraLinearForward, type ModuleGrads, type SlotLora, type SlotLoraSaved } from './cpu-lora-linear';

export interface NormSaved {
  /** (T, C) the norm's input. */
  x: Float64Array;
  /** (T, C) the norm's output. */
  out: Float64Array;
  /** (T), LayerNorm only. */
  mean: Float64Array;
  /** (T) */
  rstd: Float64Array;
}

export function normForward(config: ModelConfig, x: Float64Array, n: TrainNorm, T: number): NormSaved {
  const C = config.hiddenSize;
  const out = new Float64Array(T * C);
  const mean = new Float64Array(T);
  const rstd = new Float64Array(T);
  if (config.norm === 'rms') rmsNormForward(out, rstd, x, n.weight, T, C, config.normEps);
  else layerNormForward(out, mean, rstd, x, n.weight, n.bias!, T, C, config.normEps);
  return { x, out, mean, rstd };
}

/** dx += the norm's input gradient (its weights are frozen). */
export function normBackward(config: ModelConfig, dx: Float64Array, dout: Float64Array, n: TrainNorm, s: NormSaved, T: number): void {
  const C = config.hiddenSize;
  if (config.norm === 'rms') rmsNormBackward(dx, null, dout, s.x, n.weight, s.rstd, T, C);
  else layerNormBackward(dx, null, null, dout, s.x, n.weight, s.mean, s.rstd, T, C);
}

/** The LoRA of each adapted slot of one layer (for one sequence: masks are per sequence). */
export type LayerLora = Partial<Record<LinearSlot, SlotLora>>;

export interface LayerSaved {
  attnNorm: NormSaved;
  /** (T, Hq, D), (T, Hkv, D), (T, Hkv, D): q and k after RoPE. */
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  /** (T, Hq * D) attention output, the input of o. */
  attn: Float64Array;
  mlpNorm: NormSaved;
  /** (T, F) pre-activations: SwiGLU's gate (absent for GPT-2) and up / c_fc. */
  gate?: Float64Array;
  up: Float64Array;
  /** (T, F) the input of down / c_proj. */
  act: Float64Array;
  lora: Partial<Record<LinearSlot, SlotLoraSaved>>;
}

function attentionDims(config: ModelConfig, T: number): AttentionDims {
  return { batch: 1, tq: T, tk: T, hq: config.numHeads, hkv: config.numKvHeads, headDim: config.headDim };
}

/** Returns the block's output (T, C) for its input x (T, C), and what the backward needs. */
export function loraLayerForward(model: CpuTrainModel, layer: TrainLayer, lora: LayerLora, x: Float64Array, T: number): { x: Float64Array; saved: LayerSaved } {
  const { config } = model;
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = config;
  const w = layer.linears;
  const savedLora: LayerSaved['lora'] = {};
  const linear = (slot: LinearSlot, input: Float64Array): Float64Array => {
    const { y, saved } = loraLinearForward(input, w[slot]!, T, lora[slot]);
    if (saved) savedLora[slot] = saved;
    return y;
  };

  // Attention: norm -> q, k, v -> RoPE -> causal GQA -> o -> residual.
  const attnNorm = normForward(config, x, layer.attnNorm, T);
  const q = linear('q', attnNorm.out); // (T, Hq, D)
  const k = linear('k', attnNorm.out); // (T, Hkv, D)
  const v = linear('v', attnNorm.out); // (T, Hkv, D)
  if (config.positions === 'rope') {
    ropeForward(q, q, model.invFreq, { B: 1, T, H: Hq, D });
    ropeForward(k, k, model.invFreq, { B: 1, T, H: Hkv, D });
  }
  const attn = new Float64Array(T * Hq * D);
  attentionForward(attn, new Float64Array(Hq * T), q, k, v, attentionDims(config, T));
  const x1 = linear('o', attn);
  for (let i = 0; i < x1.length; i++) x1[i] += x[i];

  // MLP: norm -> SwiGLU down(silu(gate) * up) or GPT-2's c_proj(gelu_tanh(c_fc)) -> residual.
  const mlpNorm = normForward(config, x1, layer.mlpNorm, T);
  const up = linear('up', mlpNorm.out); // (T, F)
  const act = new Float64Array(up.length);
  let gate: Float64Array | undefined;
  if (config.mlp === 'swiglu') {
    gate = linear('gate', mlpNorm.out);
    swigluForward(act, gate, up);
  } else {
    geluForward(act, up);
  }
  const x2 = linear('down', act);
  for (let i = 0; i < x2.length; i++) x2[i] += x1[i];

  return { x: x2, saved: { attnNorm, q, k, v, attn, mlpNorm, gate, up, act, lora: savedLora } };
}

/**
 * From dOut (T, C), the gradient of the block's output, returns the gradient of its input and adds the
 * LoRA gradients of this layer's slots into `grads` (indexed by adapter module, as `bindings` says).
 */
export function loraLayerBackward(
  model: CpuTrainModel,
  layer: TrainLayer,
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
