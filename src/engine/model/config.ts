// A Hugging Face config.json read into one normalised description that the CPU reference, the GPU model,
// the memory estimate and (later) LoRA all share. Unknown architectures and unsupported options are refused
// here, by name, before any weight is read.

import { ModelFormatError, UnsupportedModelError } from './errors';

export type Architecture = 'llama' | 'qwen2' | 'gpt2';

/** HF rope_scaling; 'default' = none. */
export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface ModelConfig {
  architecture: Architecture;
  /** As config.json names it, e.g. "LlamaForCausalLM". */
  hfArchitecture: string;
  vocabSize: number;
  /** C */
  hiddenSize: number;
  /** F: the MLP's hidden width. */
  intermediateSize: number;
  /** L */
  numLayers: number;
  /** Hq */
  numHeads: number;
  /** Hkv (= Hq without grouped-query attention) */
  numKvHeads: number;
  /** D; Hq * D need not equal C (explicit head_dim). */
  headDim: number;
  maxPositions: number;
  norm: 'rms' | 'layer';
  normEps: number;
  /** 'swiglu': down(silu(gate x) * up x) (Llama, Qwen2); 'gelu': proj(gelu_tanh(fc x)) (GPT-2). */
  mlp: 'swiglu' | 'gelu';
  /** 'rope' (Llama, Qwen2) or 'learned' (GPT-2's wpe table). */
  positions: 'rope' | 'learned';
  ropeTheta: number;
  ropeScaling: RopeScaling;
  /** The LM head reuses the token embedding. */
  tieWordEmbeddings: boolean;
  /** Bias on q, k and v projections. */
  qkvBias: boolean;
  /** Bias on the attention output projection. */
  outputBias: boolean;
  /** Bias on the MLP projections. */
  mlpBias: boolean;
  bosTokenId: number | undefined;
  /** Any of these ends generation. */
  eosTokenIds: number[];
  padTokenId: number | undefined;
  /** The checkpoint's declared dtype, for display ("float32", "bfloat16", ...). */
  torchDtype: string | undefined;
}

type Json = Record<string, unknown>;

const SUPPORTED = 'LlamaForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel';

/** The largest size field (vocabulary, widths, layers, positions): token ids and indices are i32 on the GPU. */
const MAX_SIZE = 2 ** 31 - 1;

function isTokenId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_SIZE;
}

/** Field reader that names config.json and the field in every error. */
class Fields {
  constructor(
    private readonly json: Json,
    private readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  int(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new ModelFormatError(this.file, `field "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    }
    if (v > MAX_SIZE) throw new ModelFormatError(this.file, `field "${key}" is ${v}, over ${MAX_SIZE}, the largest size the GPU's 32-bit indices address`);
    return v;
  }

  num(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new ModelFormatError(this.file, `field "${key}" must be a positive number, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'boolean') throw new ModelFormatError(this.file, `field "${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  str(key: string, fallback?: string): string | undefined {
    const v = this.json[key] ?? fallback;
    if (v !== undefined && typeof v !== 'string') throw new ModelFormatError(this.file, `field "${key}" must be a string`);
    return v;
  }

  optionalTokenId(key: string): number | undefined {
    const v = this.json[key];
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) return this.tokenIds(key)[0];
    if (!isTokenId(v)) throw new ModelFormatError(this.file, `field "${key}" must be a token id (an integer from 0 to ${MAX_SIZE}), got ${JSON.stringify(v)}`);
    return v;
  }

  tokenIds(key: string): number[] {
    const v = this.json[key];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    for (const id of list) {
      if (!isTokenId(id)) {
        throw new ModelFormatError(this.file, `field "${key}" must be a token id (an integer from 0 to ${MAX_SIZE}) or a list of them, got ${JSON.stringify(v)}`);
      }
    }
    return list as number[];
  }

  unsupported(detail: string): never {
    throw new UnsupportedModelError(this.file, detail);
  }
}

function architectureOf(json: Json, f: Fields, file: string): { arch: Architecture; name: string } {
  const list = json.architectures;
  const name = Array.isArray(list) && typeof list[0] === 'string' ? list[0] : undefined;
  const modelType = f.str('model_type');
  const byName: Record<string, Architecture> = { LlamaForCausalLM: 'llama', Qwen2ForCausalLM: 'qwen2', GPT2LMHeadModel: 'gpt2' };
  const byType: Record<string, Architecture> = { llama: 'llama', qwen2: 'qwen2', gpt2: 'gpt2' };
  // Own keys only: "constructor" or "toString" must not find Object.prototype's members.
  if (name !== undefined) {
    if (!Object.hasOwn(byName, name)) f.unsupported(`architecture "${name}" is not supported (supported: ${SUPPORTED})`);
    return { arch: byName[name], name };
  }
  if (modelType !== undefined && Object.hasOwn(byType, modelType)) {
    const arch = byType[modelType];
    return { arch, name: Object.keys(byName).find((k) => byName[k] === arch)! };
  }
  if (modelType !== undefined) f.unsupported(`model_type "${modelType}" is not supported (supported: ${SUPPORTED})`);
  throw new ModelFormatError(file, 'names no architecture: expected "architectures" or "model_type"');
}

function ropeScalingOf(json: Json, f: Fields, file: string): RopeScaling {
  const raw = json.rope_scaling;
  if (raw === undefined || raw === null) return { type: 'default' };
  if (typeof raw !== 'object') throw new ModelFormatError(file, 'field "rope_scaling" must be an object or null');
  const s = new Fields(raw as Json, file);
  const type = s.str('rope_type') ?? s.str('type');
  const num = (key: string, fallback?: number) => {
    try {
      return s.num(key, fallback);
    } catch {
      throw new ModelFormatError(file, `field "rope_scaling.${key}" must be a positive number`);
    }
  };
  switch (type) {
    case undefined:
    case 'default':
      return { type: 'default' };
    case 'linear':
      return { type: 'linear', factor: num('factor') };
    case 'llama3':
      return {
        type: 'llama3',
        factor: num('factor'),
        lowFreqFactor: num('low_freq_factor', 1),
        highFreqFactor: num('high_freq_factor', 4),
        originalMaxPositions: num('original_max_position_embeddings', 8192),
      };
    default:
      return f.unsupported(`rope_scaling type "${type}" is not supported (supported: default, linear, llama3)`);
  }
}

function llamaLike(json: Json, f: Fields, file: string, arch: 'llama' | 'qwen2', name: string): ModelConfig {
  const act = f.str('hidden_act', 'silu');
  if (act !== 'silu') f.unsupported(`hidden_act "${act}" is not supported for ${name} (supported: silu)`);
  const hiddenSize = f.int('hidden_size');
  const numHeads = f.int('num_attention_heads');
  const numKvHeads = f.int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ModelFormatError(file, `num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  }
  const headDim = f.has('head_dim') ? f.int('head_dim') : hiddenSize / numHeads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new ModelFormatError(file, `head dimension ${headDim} (hidden_size / num_attention_heads) must be an even integer`);
  }
  if (arch === 'qwen2' && f.bool('use_sliding_window', false)) {
    f.unsupported('use_sliding_window: true is not supported (Qwen2 sliding-window attention)');
  }
  if ((json.pretraining_tp ?? 1) !== 1) f.unsupported(`pretraining_tp ${String(json.pretraining_tp)} is not supported (only 1)`);
  const attentionBias = f.bool('attention_bias', false);
  return {
    architecture: arch,
    hfArchitecture: name,
    vocabSize: f.int('vocab_size'),
    hiddenSize,
    intermediateSize: f.int('intermediate_size'),
    numLayers: f.int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: f.int('max_position_embeddings', 2048),
    norm: 'rms',
    normEps: f.num('rms_norm_eps', 1e-6),
    mlp: 'swiglu',
    positions: 'rope',
    ropeTheta: f.num('rope_theta', 10000),
    ropeScaling: ropeScalingOf(json, f, file),
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    // Qwen2 always has q/k/v biases and none on o_proj; Llama's attention_bias covers all four.
    qkvBias: arch === 'qwen2' ? true : attentionBias,
    outputBias: arch === 'qwen2' ? false : attentionBias,
    mlpBias: arch === 'qwen2' ? false : f.bool('mlp_bias', false),
    bosTokenId: f.optionalTokenId('bos_token_id'),
    eosTokenIds: f.tokenIds('eos_token_id'),
    padTokenId: f.optionalTokenId('pad_token_id'),
    torchDtype: f.str('torch_dtype') ?? f.str('dtype'),
  };
}

function gpt2(json: Json, f: Fields, file: string, name: string): ModelConfig {
  const act = f.str('activation_function', 'gelu_new');
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
    f.unsupported(`activation_function "${act}" is not supported for GPT-2 (supported: gelu_new)`);
  }
  const hiddenSize = f.int('n_embd');
  const numHeads = f.int('n_head');
  if (hiddenSize % numHeads !== 0) throw new ModelFormatError(file, `n_embd (${hiddenSize}) must be a multiple of n_head (${numHeads})`);
  if (f.bool('scale_attn_by_inverse_layer_idx', false)) f.unsupported('scale_attn_by_inverse_layer_idx: true is not supported');
  if (f.bool('reorder_and_upcast_attn', false)) f.unsupported('reorder_and_upcast_attn: true is not supported');
  if (!f.bool('scale_attn_weights', true)) f.unsupported('scale_attn_weights: false is not supported');
  return {
    architecture: 'gpt2',
    hfArchitecture: name,
    vocabSize: f.int('vocab_size'),
    hiddenSize,
    intermediateSize: f.has('n_inner') ? f.int('n_inner') : 4 * hiddenSize,
    numLayers: f.int('n_layer'),
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    maxPositions: f.int('n_positions', 1024),
    norm: 'layer',
    normEps: f.num('layer_norm_epsilon', 1e-5),
    mlp: 'gelu',
    positions: 'learned',
    ropeTheta: 10000,
    ropeScaling: { type: 'default' },
    tieWordEmbeddings: f.bool('tie_word_embeddings', true),
    qkvBias: true,
    outputBias: true,
    mlpBias: true,
    bosTokenId: f.optionalTokenId('bos_token_id'),
    eosTokenIds: f.tokenIds('eos_token_id'),
    padTokenId: f.optionalTokenId('pad_token_id'),
    torchDtype: f.str('torch_dtype') ?? f.str('dtype'),
  };
}

/** Reads a parsed config.json; `file` names it in errors. */
export function parseModelConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFormatError(file, 'must be a JSON object');
  const obj = json as Json;
  const f = new Fields(obj, file);
  const { arch, name } = architectureOf(obj, f, file);
  return arch === 'gpt2' ? gpt2(obj, f, file, name) : llamaLike(obj, f, file, arch, name);
}

/** Parses config.json text, naming the file on a JSON syntax error. */
export function readModelConfig(text: string, file = 'config.json'): ModelConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelFormatError(file, `is not valid JSON (${(err as Error).message})`);
  }
  return parseModelConfig(json, file);
}
