import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelConfig, readModelConfig } from '../../src/engine/model/config';
import { ModelFormatError, UnsupportedModelError } from '../../src/engine/model/errors';
import { STORIES260K_DIR } from '../helpers/tiny-models';

const LLAMA = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 172,
  num_hidden_layers: 5,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  vocab_size: 512,
};

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('parseModelConfig', () => {
  it("reads stories260K's config.json", async () => {
    const text = await readFile(join(STORIES260K_DIR, 'config.json'), 'utf8');
    expect(readModelConfig(text)).toEqual({
      architecture: 'llama',
      hfArchitecture: 'LlamaForCausalLM',
      vocabSize: 512,
      hiddenSize: 64,
      intermediateSize: 172,
      numLayers: 5,
      numHeads: 8,
      numKvHeads: 4,
      headDim: 8,
      maxPositions: 512,
      norm: 'rms',
      normEps: 1e-5,
      mlp: 'swiglu',
      positions: 'rope',
      ropeTheta: 10000,
      ropeScaling: { type: 'default' },
      tieWordEmbeddings: true,
      qkvBias: false,
      outputBias: false,
      mlpBias: false,
      bosTokenId: 1,
      eosTokenIds: [2],
      padTokenId: undefined,
      torchDtype: 'float32',
    });
  });

  it('takes an explicit head_dim and defaults to hidden_size / num_attention_heads', () => {
    expect(parseModelConfig({ ...LLAMA, head_dim: 16 }).headDim).toBe(16);
    expect(parseModelConfig(LLAMA).headDim).toBe(8);
    expect(parseModelConfig({ ...LLAMA, num_key_value_heads: undefined }).numKvHeads).toBe(8);
    expect(parseModelConfig({ ...LLAMA, eos_token_id: [2, 7] }).eosTokenIds).toEqual([2, 7]);
  });

  it('refuses an unknown architecture by name', () => {
    const err = thrown(() => parseModelConfig({ ...LLAMA, architectures: ['MistralForCausalLM'] }));
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect(err.message).toBe(
      'config.json: architecture "MistralForCausalLM" is not supported (supported: LlamaForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel)',
    );
    expect(() => parseModelConfig({ model_type: 'mamba' }, 'other/config.json')).toThrow('other/config.json: model_type "mamba" is not supported');
    // model_type alone is enough.
    expect(parseModelConfig({ ...LLAMA, architectures: undefined, model_type: 'qwen2' }).architecture).toBe('qwen2');
  });

  it('refuses architecture names that only Object.prototype knows, and sizes and token ids past 32-bit indices', () => {
    // These used to find Object.prototype's members and pass as an architecture (a function).
    expect(() => parseModelConfig({ ...LLAMA, architectures: ['constructor'] })).toThrow(
      new UnsupportedModelError('config.json', 'architecture "constructor" is not supported (supported: LlamaForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel)'),
    );
    expect(() => parseModelConfig({ ...LLAMA, architectures: undefined, model_type: 'toString' })).toThrow('config.json: model_type "toString" is not supported');
    expect(() => parseModelConfig({ ...LLAMA, vocab_size: 2 ** 32 })).toThrow(
      new ModelFormatError('config.json', 'field "vocab_size" is 4294967296, over 2147483647, the largest size the GPU\'s 32-bit indices address'),
    );
    expect(parseModelConfig({ ...LLAMA, max_position_embeddings: 2 ** 31 - 1 }).maxPositions).toBe(2 ** 31 - 1);
    expect(() => parseModelConfig({ ...LLAMA, bos_token_id: 1e308 })).toThrow('config.json: field "bos_token_id" must be a token id (an integer from 0 to 2147483647), got 1e+308');
    expect(() => parseModelConfig({ ...LLAMA, eos_token_id: [2, 2 ** 31] })).toThrow(
      'config.json: field "eos_token_id" must be a token id (an integer from 0 to 2147483647) or a list of them, got [2,2147483648]',
    );
  });

  it('names the field of the wrong type', () => {
    const err = thrown(() => parseModelConfig({ ...LLAMA, hidden_size: '64' }));
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toBe('config.json: field "hidden_size" must be a positive integer, got "64"');
    expect(() => parseModelConfig({ ...LLAMA, rms_norm_eps: 'small' })).toThrow('field "rms_norm_eps" must be a positive number');
    expect(() => parseModelConfig({ ...LLAMA, tie_word_embeddings: 'yes' })).toThrow('field "tie_word_embeddings" must be true or false');
    expect(() => parseModelConfig({ ...LLAMA, vocab_size: undefined })).toThrow('field "vocab_size" must be a positive integer, got undefined');
    expect(() => parseModelConfig({ ...LLAMA, num_key_value_heads: 3 })).toThrow('num_attention_heads (8) must be a multiple of num_key_value_heads (3)');
    expect(() => readModelConfig('{"hidden_size": 64,', 'm/config.json')).toThrow(/^m\/config\.json: is not valid JSON/);
    expect(() => parseModelConfig([1, 2])).toThrow('config.json: must be a JSON object');
  });

  it('parses rope_scaling llama3 and linear, and names an unsupported type', () => {
    const llama3 = parseModelConfig({
      ...LLAMA,
      rope_theta: 500000,
      rope_scaling: { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
    });
    expect(llama3.ropeTheta).toBe(500000);
    expect(llama3.ropeScaling).toEqual({ type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    // Older configs say "type" instead of "rope_type".
    expect(parseModelConfig({ ...LLAMA, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(parseModelConfig({ ...LLAMA, rope_scaling: null }).ropeScaling).toEqual({ type: 'default' });

    const yarn = thrown(() => parseModelConfig({ ...LLAMA, rope_scaling: { rope_type: 'yarn', factor: 4 } }));
    expect(yarn).toBeInstanceOf(UnsupportedModelError);
    expect(yarn.message).toBe('config.json: rope_scaling type "yarn" is not supported (supported: default, linear, llama3)');
    expect(() => parseModelConfig({ ...LLAMA, rope_scaling: { rope_type: 'linear' } })).toThrow('field "rope_scaling.factor" must be a positive number');
  });

  it('reads a Qwen2 config: q/k/v biases, no o_proj bias, sliding window refused', () => {
    const qwen = {
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
      rope_theta: 1000000.0,
      tie_word_embeddings: true,
      use_sliding_window: false,
      sliding_window: 32768,
      bos_token_id: 151643,
      eos_token_id: 151643,
      torch_dtype: 'bfloat16',
    };
    const c = parseModelConfig(qwen);
    expect([c.architecture, c.headDim, c.numKvHeads, c.qkvBias, c.outputBias, c.mlpBias]).toEqual(['qwen2', 64, 2, true, false, false]);
    expect([c.normEps, c.ropeTheta, c.tieWordEmbeddings, c.torchDtype]).toEqual([1e-6, 1e6, true, 'bfloat16']);
    expect(() => parseModelConfig({ ...qwen, use_sliding_window: true })).toThrow(UnsupportedModelError);
    expect(() => parseModelConfig({ ...qwen, hidden_act: 'gelu' })).toThrow('hidden_act "gelu" is not supported for Qwen2ForCausalLM');
  });

  it('reads a GPT-2 config: LayerNorm, GELU MLP of 4C, learned positions, tied head', () => {
    const gpt2 = {
      activation_function: 'gelu_new',
      architectures: ['GPT2LMHeadModel'],
      layer_norm_epsilon: 1e-5,
      model_type: 'gpt2',
      n_ctx: 1024,
      n_embd: 768,
      n_head: 12,
      n_inner: null,
      n_layer: 12,
      n_positions: 1024,
      vocab_size: 50257,
      bos_token_id: 50256,
      eos_token_id: 50256,
    };
    const c = parseModelConfig(gpt2);
    expect(c).toMatchObject({
      architecture: 'gpt2',
      hiddenSize: 768,
      intermediateSize: 3072,
      numHeads: 12,
      numKvHeads: 12,
      headDim: 64,
      maxPositions: 1024,
      norm: 'layer',
      mlp: 'gelu',
      positions: 'learned',
      tieWordEmbeddings: true,
      qkvBias: true,
      outputBias: true,
      mlpBias: true,
      eosTokenIds: [50256],
    });
    expect(parseModelConfig({ ...gpt2, n_inner: 1000 }).intermediateSize).toBe(1000);
    expect(() => parseModelConfig({ ...gpt2, activation_function: 'relu' })).toThrow('activation_function "relu" is not supported for GPT-2');
    expect(() => parseModelConfig({ ...gpt2, n_head: 7 })).toThrow('n_embd (768) must be a multiple of n_head (7)');
    expect(() => parseModelConfig({ ...gpt2, scale_attn_by_inverse_layer_idx: true })).toThrow(UnsupportedModelError);
  });
});
