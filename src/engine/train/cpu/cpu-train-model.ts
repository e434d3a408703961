// The frozen base model for the CPU training reference: every weight converted to float64 ONCE, so a
// finite-difference gradient check perturbs nothing but the LoRA parameters and sees exact f64 arithmetic.
// Same canonical layout as ModelWeights (linear weights (out, in), GPT-2's c_attn split into q, k, v).

import type { ModelConfig } from '../../model/config';
import type { LayerWeights, LinearWeights, ModelWeights, NormWeights, WeightTensor } from '../../model/weights';
import { modelRopeFrequencies } from '../../model/rope-frequencies';
import type { LinearSlot } from '../../lora/lora-config';

export interface TrainLinear {
  /** (out, in) */
  weight: Float64Array;
  /** (out) */
  bias?: Float64Array;
  out: number;
  in: number;
}

export interface TrainNorm {
  /** (C) */
  weight: Float64Array;
  /** (C), LayerNorm only. */
  bias?: Float64Array;
}

export interface TrainLayer {
  attnNorm: TrainNorm;
  mlpNorm: TrainNorm;
  /** The block's linear layers by canonical slot; `gate` only for SwiGLU. */
  linears: Partial<Record<LinearSlot, TrainLinear>> & Record<'q' | 'k' | 'v' | 'o' | 'up' | 'down', TrainLinear>;
}

export interface CpuTrainModel {
  config: ModelConfig;
  /** (V, C) */
  tokenEmbedding: Float64Array;
  /** (P, C), GPT-2 only. */
  positionEmbedding?: Float64Array;
  layers: TrainLayer[];
  finalNorm: TrainNorm;
  /** (V, C); the same array as tokenEmbedding when tied. */
  lmHead: Float64Array;
  /** (D / 2) RoPE inverse frequencies (f32 values, as the inference reference uses); empty for GPT-2. */
  invFreq: Float32Array;
}

const f64 = (t: WeightTensor): Float64Array => Float64Array.from(t.read());

function linear(l: LinearWeights): TrainLinear {
  const [out, inp] = l.weight.shape;
  return { weight: f64(l.weight), bias: l.bias && f64(l.bias), out, in: inp };
}

function norm(n: NormWeights): TrainNorm {
  return { weight: f64(n.weight), bias: n.bias && f64(n.bias) };
}

function layer(l: LayerWeights): TrainLayer {
  return {
    attnNorm: norm(l.attnNorm),
    mlpNorm: norm(l.mlpNorm),
    linears: {
      q: linear(l.q),
      k: linear(l.k),
      v: linear(l.v),
      o: linear(l.o),
      gate: l.gate && linear(l.gate),
      up: linear(l.up),
      down: linear(l.down),
    },
  };
}

export function buildCpuTrainModel(config: ModelConfig, weights: ModelWeights): CpuTrainModel {
  const tokenEmbedding = f64(weights.tokenEmbedding);
  return {
    config,
    tokenEmbedding,
    positionEmbedding: weights.positionEmbedding && f64(weights.positionEmbedding),
    layers: weights.layers.map(layer),
    finalNorm: norm(weights.finalNorm),
    lmHead: weights.tied ? tokenEmbedding : f64(weights.lmHead),
    invFreq: config.positions === 'rope' ? modelRopeFrequencies(config) : new Float32Array(0),
  };
}
