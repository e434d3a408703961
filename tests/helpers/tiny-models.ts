// Small randomly initialised Hugging Face model folders in the real file formats (config.json as
// transformers writes it, model.safetensors or shards + index, the stories260K tokenizer), for tests of the
// loader, the CPU reference and the GPU engine on every supported architecture.

import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../../src/engine/model/config';
import { loadModelFiles, type ModelFiles } from '../../src/engine/model/model-files';
import { writeSafetensors, type TensorToWrite } from '../../src/engine/model/safetensors';
import { mapWeights, type ModelWeights } from '../../src/engine/model/weights';
import { DirectorySource } from '../../src/node/directory-source';
import { Rng } from '../../src/engine/util/rng';

/** The real trained test model (read at run time, never copied into the repo). */
export const STORIES260K_DIR = resolve(fileURLToPath(import.meta.url), '../../../../shared/assets/models/stories260K');

export type TinyKind = 'llama' | 'qwen2' | 'gpt2';

export interface TinySizes {
  /** C */
  hiddenSize: number;
  /** F */
  intermediateSize: number;
  /** L */
  numLayers: number;
  /** Hq */
  numHeads: number;
  /** Hkv (llama, qwen2; GPT-2 has Hkv = Hq) */
  numKvHeads: number;
  /** D (llama writes it as an explicit head_dim; qwen2 and gpt2 derive it as C / Hq) */
  headDim: number;
  vocabSize: number;
  maxPositions: number;
}

export interface TinyModelOptions {
  /** Storage dtype of every tensor; default 'F32'. */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Two shards + model.safetensors.index.json instead of one model.safetensors. */
  sharded?: boolean;
  /** Default 1. */
  seed?: number;
  sizes?: Partial<TinySizes>;
  /** Tie the LM head to the embedding (defaults: llama false, qwen2 true, gpt2 true). */
  tied?: boolean;
  /** GPT-2 only: names without the "transformer." prefix, as the "gpt2" Hub repo stores them. */
  unprefixed?: boolean;
  /** Llama only: rope_scaling {rope_type: "llama3"} whose three frequency bands are all non-empty. */
  llama3Rope?: boolean;
  /** Standard deviation of the linear weights (default 0.15); embeddings use twice as much. */
  std?: number;
}

export interface TinyModel {
  dir: string;
  /** config.json as written. */
  config: Record<string, unknown>;
  /** Every tensor written, by checkpoint name, with the values before rounding to dtype. */
  tensors: Record<string, TensorToWrite>;
}

const DEFAULT_SIZES: Record<TinyKind, TinySizes> = {
  // head_dim 16 != hidden_size / num_attention_heads (48 / 4 = 12), and GQA (4 query heads, 2 kv heads).
  llama: { hiddenSize: 48, intermediateSize: 96, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, vocabSize: 512, maxPositions: 128 },
  qwen2: { hiddenSize: 64, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, vocabSize: 512, maxPositions: 128 },
  gpt2: { hiddenSize: 32, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 4, headDim: 8, vocabSize: 512, maxPositions: 64 },
};

function sizesOf(kind: TinyKind, options: TinyModelOptions): TinySizes {
  const s = { ...DEFAULT_SIZES[kind], ...options.sizes };
  if (kind !== 'llama') s.headDim = s.hiddenSize / s.numHeads;
  if (kind === 'gpt2') s.numKvHeads = s.numHeads;
  return s;
}

function llamaConfig(s: TinySizes, o: TinyModelOptions): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 1,
    eos_token_id: 2,
    head_dim: s.headDim,
    hidden_act: 'silu',
    hidden_size: s.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: s.intermediateSize,
    max_position_embeddings: s.maxPositions,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: s.numHeads,
    num_hidden_layers: s.numLayers,
    num_key_value_heads: s.numKvHeads,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    // With D = 16 and theta 10000 the wavelengths 2 pi / f run from 6.3 to 19869: original 64 and factors
    // 1 / 4 put some below 16 (kept), some in [16, 64] (blended) and some above 64 (divided by 8).
    rope_scaling: o.llama3Rope
      ? { factor: 8.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 64, rope_type: 'llama3' }
      : null,
    rope_theta: 10000.0,
    tie_word_embeddings: o.tied ?? false,
    torch_dtype: torchDtype(o),
    transformers_version: '4.46.3',
    use_cache: true,
    vocab_size: s.vocabSize,
  };
}

/** config.json as transformers writes it for a Qwen2 model of these sizes (also the 0.5B-shaped test model's). */
export function qwen2Config(s: TinySizes, o: TinyModelOptions): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    hidden_size: s.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: s.intermediateSize,
    max_position_embeddings: s.maxPositions,
    max_window_layers: s.numLayers,
    model_type: 'qwen2',
    num_attention_heads: s.numHeads,
    num_hidden_layers: s.numLayers,
    num_key_value_heads: s.numKvHeads,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000.0,
    sliding_window: s.maxPositions,
    tie_word_embeddings: o.tied ?? true,
    torch_dtype: torchDtype(o),
    transformers_version: '4.46.3',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: s.vocabSize,
  };
}

function gpt2Config(s: TinySizes, o: TinyModelOptions): Record<string, unknown> {
  return {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    attn_pdrop: 0.1,
    bos_token_id: 1,
    embd_pdrop: 0.1,
    eos_token_id: 2,
    initializer_range: 0.02,
    layer_norm_epsilon: 1e-5,
    model_type: 'gpt2',
    n_ctx: s.maxPositions,
    n_embd: s.hiddenSize,
    n_head: s.numHeads,
    n_inner: s.intermediateSize === 4 * s.hiddenSize ? null : s.intermediateSize,
    n_layer: s.numLayers,
    n_positions: s.maxPositions,
    reorder_and_upcast_attn: false,
    resid_pdrop: 0.1,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    summary_activation: null,
    summary_first_dropout: 0.1,
    summary_proj_to_labels: true,
    summary_type: 'cls_index',
    summary_use_proj: true,
    tie_word_embeddings: o.tied ?? true,
    torch_dtype: torchDtype(o),
    transformers_version: '4.46.3',
    use_cache: true,
    vocab_size: s.vocabSize,
  };
}

function torchDtype(o: TinyModelOptions): string {
  return { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[o.dtype ?? 'F32'];
}

/** Random tensors under their checkpoint names (values as f32; rounded to dtype on write). */
class TensorMaker {
  readonly tensors: Record<string, TensorToWrite> = {};
  private readonly rng: Rng;

  constructor(
    seed: number,
    private readonly dtype: TensorToWrite['dtype'],
    private readonly std: number,
  ) {
    this.rng = new Rng(seed);
  }

  /** normal(mean, std * scale) */
  add(name: string, shape: number[], scale = 1, mean = 0): void {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = this.rng.normals(n, this.std * scale).map((x) => x + mean);
    this.tensors[name] = { dtype: this.dtype, shape, data };
  }

  /** A norm weight near 1 (so it matters) and, for LayerNorm, a small bias. */
  norm(prefix: string, C: number, withBias: boolean): void {
    this.add(`${prefix}.weight`, [C], 0.5, 1);
    if (withBias) this.add(`${prefix}.bias`, [C], 0.3);
  }
}

function llamaTensors(kind: 'llama' | 'qwen2', s: TinySizes, o: TinyModelOptions, t: TensorMaker): void {
  const { hiddenSize: C, intermediateSize: F, numHeads: Hq, numKvHeads: Hkv, headDim: D, vocabSize: V } = s;
  const bias = kind === 'qwen2';
  t.add('model.embed_tokens.weight', [V, C], 2);
  for (let l = 0; l < s.numLayers; l++) {
    const p = `model.layers.${l}`;
    t.norm(`${p}.input_layernorm`, C, false);
    for (const [name, out] of [['q_proj', Hq * D], ['k_proj', Hkv * D], ['v_proj', Hkv * D]] as const) {
      t.add(`${p}.self_attn.${name}.weight`, [out, C]);
      if (bias) t.add(`${p}.self_attn.${name}.bias`, [out], 0.5);
    }
    t.add(`${p}.self_attn.o_proj.weight`, [C, Hq * D]);
    t.norm(`${p}.post_attention_layernorm`, C, false);
    t.add(`${p}.mlp.gate_proj.weight`, [F, C]);
    t.add(`${p}.mlp.up_proj.weight`, [F, C]);
    t.add(`${p}.mlp.down_proj.weight`, [C, F]);
  }
  t.norm('model.norm', C, false);
  const tied = o.tied ?? kind === 'qwen2';
  if (!tied) t.add('lm_head.weight', [V, C], 2);
}

function gpt2Tensors(s: TinySizes, o: TinyModelOptions, t: TensorMaker): void {
  const { hiddenSize: C, intermediateSize: F, vocabSize: V, maxPositions: P } = s;
  const p = o.unprefixed ? '' : 'transformer.';
  // Conv1D stores (in, out): x @ W + b.
  const conv1d = (name: string, inp: number, out: number) => {
    t.add(`${name}.weight`, [inp, out]);
    t.add(`${name}.bias`, [out], 0.5);
  };
  t.add(`${p}wte.weight`, [V, C], 2);
  t.add(`${p}wpe.weight`, [P, C], 2);
  for (let l = 0; l < s.numLayers; l++) {
    const h = `${p}h.${l}`;
    t.norm(`${h}.ln_1`, C, true);
    conv1d(`${h}.attn.c_attn`, C, 3 * C);
    conv1d(`${h}.attn.c_proj`, C, C);
    t.norm(`${h}.ln_2`, C, true);
    conv1d(`${h}.mlp.c_fc`, C, F);
    conv1d(`${h}.mlp.c_proj`, F, C);
  }
  t.norm(`${p}ln_f`, C, true);
  if (o.tied === false) t.add('lm_head.weight', [V, C], 2);
}

async function writeWeights(dir: string, tensors: Record<string, TensorToWrite>, sharded: boolean): Promise<void> {
  const metadata = { format: 'pt' };
  if (!sharded) {
    await writeFile(join(dir, 'model.safetensors'), writeSafetensors(tensors, metadata));
    return;
  }
  const names = Object.keys(tensors);
  const half = Math.ceil(names.length / 2);
  const shards = [names.slice(0, half), names.slice(half)];
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (let i = 0; i < shards.length; i++) {
    const file = `model-0000${i + 1}-of-0000${shards.length}.safetensors`;
    const part = Object.fromEntries(shards[i].map((n) => [n, tensors[n]]));
    const bytes = writeSafetensors(part, metadata);
    await writeFile(join(dir, file), bytes);
    for (const n of shards[i]) weightMap[n] = file;
    totalSize += bytes.byteLength;
  }
  const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2) + '\n');
}

/** config.json as writeTinyModel writes it for `kind` (no files written). */
export function tinyConfig(kind: TinyKind, options: TinyModelOptions = {}): Record<string, unknown> {
  const s = sizesOf(kind, options);
  return kind === 'llama' ? llamaConfig(s, options) : kind === 'qwen2' ? qwen2Config(s, options) : gpt2Config(s, options);
}

/** Writes a tiny random `kind` model folder into dir (created if needed) and returns what it wrote. */
export async function writeTinyModel(dir: string, kind: TinyKind, options: TinyModelOptions = {}): Promise<TinyModel> {
  const s = sizesOf(kind, options);
  const config = tinyConfig(kind, options);
  const maker = new TensorMaker(options.seed ?? 1, options.dtype ?? 'F32', options.std ?? 0.15);
  if (kind === 'gpt2') gpt2Tensors(s, options, maker);
  else llamaTensors(kind, s, options, maker);

  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const generation = { _from_model_config: true, bos_token_id: 1, eos_token_id: 2, transformers_version: '4.46.3' };
  await writeFile(join(dir, 'generation_config.json'), JSON.stringify(generation, null, 2) + '\n');
  await writeWeights(dir, maker.tensors, options.sharded ?? false);
  // The stories260K tokenizer (vocab 512) makes the text paths work on every tiny model.
  await copyFile(join(STORIES260K_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  await copyFile(join(STORIES260K_DIR, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  return { dir, config, tensors: maker.tensors };
}

/** A fresh temporary folder (remove it with removeTempDir). */
export async function makeTempDir(prefix = 'tunelab-tiny-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface LoadedModel {
  files: ModelFiles;
  config: ModelConfig;
  weights: ModelWeights;
}

/** Loads a model folder the way the product does: loadModelFiles + mapWeights. */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const files = await loadModelFiles(new DirectorySource(dir));
  return { files, config: files.config, weights: mapWeights(files.config, files.weights) };
}
