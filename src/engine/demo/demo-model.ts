// The built-in demo model: a tiny Llama-style network (C = 64, L = 2, Hq = 4, Hkv = 2) with random weights
// from a fixed seed. It is not trained: it writes gibberish until it is fine-tuned on the demo stories.
// It is built as the files of a Hugging Face repository (config.json, model.safetensors, tokenizer files),
// so it loads through exactly the same path as a downloaded model.

import { writeSafetensors, type TensorToWrite } from '../model/safetensors';
import { Rng } from '../util/rng';
import { demoTokenizerFiles } from './demo-tokenizer';

export { DEMO_MODEL_LABEL } from './demo-labels';

export const DEMO_SEED = 20240611;

const C = 64;
const LAYERS = 2;
const HEADS = 4;
const KV_HEADS = 2;
const HEAD_DIM = C / HEADS;
/** Llama's ~8/3 C, rounded to a multiple of 16. */
const F = 176;
/** Hugging Face's initializer_range: weights ~ N(0, 0.02^2). */
const INIT_STD = 0.02;
/**
 * The LM head is its own matrix, N(0, 1/C): logits = head (V, C) @ h, and the final RMSNorm gives h a norm
 * of sqrt(C), so each logit starts ~N(0, 1) and can grow to ~sqrt(C) = 8 as h aligns with a row. A head
 * tied to a 0.02 embedding caps every logit near 0.16 * 8 = 1.3: LoRA (which leaves the head alone) could
 * then never make the model confident, and fine-tuning the demo would barely move its loss.
 */
const HEAD_STD = 1 / Math.sqrt(C);

export function demoConfigJson(vocabSize: number, bosTokenId: number, eosTokenId: number): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocabSize,
    hidden_size: C,
    intermediate_size: F,
    num_hidden_layers: LAYERS,
    num_attention_heads: HEADS,
    num_key_value_heads: KV_HEADS,
    head_dim: HEAD_DIM,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: bosTokenId,
    eos_token_id: eosTokenId,
    initializer_range: INIT_STD,
    torch_dtype: 'float32',
  };
}

/** Every tensor of the checkpoint, under Llama's Hugging Face names, in a fixed order. */
function demoTensors(vocabSize: number, seed: number): Record<string, TensorToWrite> {
  const rng = new Rng(seed);
  const random = (shape: [number, number], std = INIT_STD): TensorToWrite => ({ dtype: 'F32', shape, data: rng.normals(shape[0] * shape[1], std) });
  const ones = (n: number): TensorToWrite => ({ dtype: 'F32', shape: [n], data: new Float32Array(n).fill(1) });
  const tensors: Record<string, TensorToWrite> = { 'model.embed_tokens.weight': random([vocabSize, C]) };
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}`;
    tensors[`${p}.input_layernorm.weight`] = ones(C);
    tensors[`${p}.self_attn.q_proj.weight`] = random([HEADS * HEAD_DIM, C]);
    tensors[`${p}.self_attn.k_proj.weight`] = random([KV_HEADS * HEAD_DIM, C]);
    tensors[`${p}.self_attn.v_proj.weight`] = random([KV_HEADS * HEAD_DIM, C]);
    tensors[`${p}.self_attn.o_proj.weight`] = random([C, HEADS * HEAD_DIM]);
    tensors[`${p}.post_attention_layernorm.weight`] = ones(C);
    tensors[`${p}.mlp.gate_proj.weight`] = random([F, C]);
    tensors[`${p}.mlp.up_proj.weight`] = random([F, C]);
    tensors[`${p}.mlp.down_proj.weight`] = random([C, F]);
  }
  tensors['model.norm.weight'] = ones(C);
  tensors['lm_head.weight'] = random([vocabSize, C], HEAD_STD);
  return tensors;
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2));

/** The demo repository's files by name. */
export function demoModelFiles(seed = DEMO_SEED): Map<string, Uint8Array> {
  const tok = demoTokenizerFiles();
  const generationConfig = {
    bos_token_id: tok.bosTokenId,
    eos_token_id: tok.eosTokenId,
    // Greedy decoding of an untrained model repeats one token; sampling shows what it can say.
    do_sample: true,
    temperature: 0.8,
    top_k: 40,
    top_p: 0.95,
  };
  return new Map([
    ['config.json', json(demoConfigJson(tok.vocabSize, tok.bosTokenId, tok.eosTokenId))],
    ['generation_config.json', json(generationConfig)],
    ['tokenizer.json', json(tok.tokenizer)],
    ['tokenizer_config.json', json(tok.tokenizerConfig)],
    ['model.safetensors', writeSafetensors(demoTensors(tok.vocabSize, seed), { format: 'pt', tunelab_demo: 'random init, not trained' })],
  ]);
}
