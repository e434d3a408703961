// A randomly initialised Llama-family model held only as lazy tensors: every WeightTensor.read() generates
// its values from a per-tensor seed when the GPU upload asks for it, so a model of SmolLM2-135M's shape
// (540 MB in f32) never exists on disk or as a whole in memory. Names and module paths are those of a
// Hugging Face checkpoint, so LoRA targets (q_proj, all-linear, ...) and adapter paths work as on a real one.

import { parseModelConfig, type ModelConfig } from '../../src/engine/model/config';
import type { LayerWeights, LinearWeights, ModelWeights, NormWeights, WeightTensor } from '../../src/engine/model/weights';
import { Rng } from '../../src/engine/util/rng';

/** HuggingFaceTB/SmolLM2-135M's config.json fields that fix its shape (D = 576 / 9 = 64). */
export const SMOLLM2_135M_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  rope_scaling: null,
  hidden_act: 'silu',
  tie_word_embeddings: true,
  attention_bias: false,
  mlp_bias: false,
  bos_token_id: 0,
  eos_token_id: 0,
  initializer_range: 0.02,
  torch_dtype: 'bfloat16',
} as const;

/** HuggingFaceTB/SmolLM2-360M's shape: C 960, 32 layers, 15 query and 5 key-value heads (D = 64), F 2560, tied. */
export const SMOLLM2_360M_CONFIG = {
  ...SMOLLM2_135M_CONFIG,
  hidden_size: 960,
  intermediate_size: 2560,
  num_hidden_layers: 32,
  num_attention_heads: 15,
  num_key_value_heads: 5,
} as const;

/**
 * Qwen/Qwen2.5-0.5B's shape: C 896, 24 layers, 14 query and 2 key-value heads (D = 64), F 4864, V 151936,
 * tied, biases on q, k and v (Qwen2 always has them).
 */
export const QWEN25_05B_CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  rope_scaling: null,
  hidden_act: 'silu',
  tie_word_embeddings: true,
  use_sliding_window: false,
  sliding_window: 32768,
  max_window_layers: 24,
  bos_token_id: 151643,
  eos_token_id: 151643,
  initializer_range: 0.02,
  torch_dtype: 'bfloat16',
} as const;

export interface RandomModel {
  config: ModelConfig;
  weights: ModelWeights;
}

/**
 * Llama / Qwen2 weights for `rawConfig` (an HF config.json object): matrices uniform with standard deviation
 * `std` (HF's initializer_range), norm weights 1, biases 0. The same seed gives the same model everywhere.
 */
export function randomLlamaModel(rawConfig: Record<string, unknown>, seed = 1, std = 0.02): RandomModel {
  const config = parseModelConfig(rawConfig, 'random model config');
  if (config.architecture === 'gpt2') throw new RangeError('randomLlamaModel builds Llama / Qwen2 shapes only');
  const bound = std * Math.sqrt(3); // U(-b, b) has standard deviation b / sqrt(3)
  let tensorIndex = 0;
  const tensor = (source: string, shape: number[], fill: 'random' | 'ones' | 'zeros'): WeightTensor => {
    const tensorSeed = (seed * 1_000_003 + tensorIndex++) >>> 0;
    const size = shape.reduce((a, b) => a * b, 1);
    return {
      source,
      shape,
      read: () => {
        if (fill === 'ones') return new Float32Array(size).fill(1);
        if (fill === 'zeros') return new Float32Array(size);
        return new Rng(tensorSeed).f32(size, -bound, bound);
      },
    };
  };
  const C = config.hiddenSize;
  const F = config.intermediateSize;
  const qOut = config.numHeads * config.headDim;
  const kvOut = config.numKvHeads * config.headDim;
  const linear = (path: string, out: number, inp: number, bias: boolean): LinearWeights => ({
    weight: tensor(`${path}.weight`, [out, inp], 'random'),
    bias: bias ? tensor(`${path}.bias`, [out], 'zeros') : undefined,
    module: { path, fanInFanOut: false },
  });
  const norm = (name: string): NormWeights => ({ weight: tensor(`${name}.weight`, [C], 'ones') });
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      attnNorm: norm(`${p}.input_layernorm`),
      q: linear(`${p}.self_attn.q_proj`, qOut, C, config.qkvBias),
      k: linear(`${p}.self_attn.k_proj`, kvOut, C, config.qkvBias),
      v: linear(`${p}.self_attn.v_proj`, kvOut, C, config.qkvBias),
      o: linear(`${p}.self_attn.o_proj`, C, qOut, config.outputBias),
      mlpNorm: norm(`${p}.post_attention_layernorm`),
      gate: linear(`${p}.mlp.gate_proj`, F, C, config.mlpBias),
      up: linear(`${p}.mlp.up_proj`, F, C, config.mlpBias),
      down: linear(`${p}.mlp.down_proj`, C, F, config.mlpBias),
    });
  }
  const tokenEmbedding = tensor('model.embed_tokens.weight', [config.vocabSize, C], 'random');
  const tied = config.tieWordEmbeddings;
  return {
    config,
    weights: {
      tokenEmbedding,
      layers,
      finalNorm: norm('model.norm'),
      lmHead: tied ? tokenEmbedding : tensor('lm_head.weight', [config.vocabSize, C], 'random'),
      tied,
    },
  };
}
