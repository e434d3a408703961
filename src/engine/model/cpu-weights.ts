// The CPU references' weights as plain arrays, one record for both: the inference model keeps the
// checkpoint's f32 values (read once), the training reference converts them to float64 once (so finite
// differences see exact f64 arithmetic). Same canonical layout as ModelWeights: linear weights (out, in),
// GPT-2's c_attn split into q, k, v.

import type { LinearSlot } from '../lora/lora-config';
import type { Vec } from '../ops/cpu/types';
import type { ModelConfig } from './config';
import { modelRopeFrequencies } from './rope-frequencies';
import type { LayerWeights, LinearWeights, ModelWeights, NormWeights, WeightTensor } from './weights';

export interface CpuLinear<W extends Vec = Vec> {
  /** (out, in) */
  weight: W;
  /** (out) */
  bias?: W;
  out: number;
  in: number;
}

export interface CpuNorm<W extends Vec = Vec> {
  /** (C) */
  weight: W;
  /** (C), LayerNorm only. */
  bias?: W;
}

export interface CpuLayer<W extends Vec = Vec> {
  attnNorm: CpuNorm<W>;
  mlpNorm: CpuNorm<W>;
  /** The block's linear layers by canonical slot; `gate` only for SwiGLU. */
  linears: Partial<Record<LinearSlot, CpuLinear<W>>> & Record<'q' | 'k' | 'v' | 'o' | 'up' | 'down', CpuLinear<W>>;
}

export interface CpuModel<W extends Vec = Vec> {
  config: ModelConfig;
  /** (V, C) */
  tokenEmbedding: W;
  /** (P, C), GPT-2 only. */
  positionEmbedding?: W;
  layers: CpuLayer<W>[];
  finalNorm: CpuNorm<W>;
  /** (V, C); the same array as tokenEmbedding when tied. */
  lmHead: W;
  /** (D / 2) RoPE inverse frequencies (f32 values); empty for learned positions. */
  invFreq: Float32Array;
}

/** Every weight of the model through `read` (the tensor's f32 values, or a float64 copy of them). */
export function readCpuModel<W extends Vec>(config: ModelConfig, weights: ModelWeights, read: (t: WeightTensor) => W): CpuModel<W> {
  const linear = (l: LinearWeights): CpuLinear<W> => {
    const [out, inp] = l.weight.shape;
    return { weight: read(l.weight), bias: l.bias && read(l.bias), out, in: inp };
  };
  const norm = (n: NormWeights): CpuNorm<W> => ({ weight: read(n.weight), bias: n.bias && read(n.bias) });
  const layer = (l: LayerWeights): CpuLayer<W> => ({
    attnNorm: norm(l.attnNorm),
    mlpNorm: norm(l.mlpNorm),
    linears: { q: linear(l.q), k: linear(l.k), v: linear(l.v), o: linear(l.o), gate: l.gate && linear(l.gate), up: linear(l.up), down: linear(l.down) },
  });
  const tokenEmbedding = read(weights.tokenEmbedding);
  return {
    config,
    tokenEmbedding,
    positionEmbedding: weights.positionEmbedding && read(weights.positionEmbedding),
    layers: weights.layers.map(layer),
    finalNorm: norm(weights.finalNorm),
    lmHead: weights.tied ? tokenEmbedding : read(weights.lmHead),
    invFreq: config.positions === 'rope' ? modelRopeFrequencies(config) : new Float32Array(0),
  };
}
