// Maps a checkpoint's tensor names onto one canonical layout shared by every architecture:
// every linear weight is (out, in) like torch.nn.Linear, so GPT-2's Conv1D (in, out) weights are transposed
// and its fused c_attn is split into q, k and v. Tensors are converted lazily (read()), one at a time.

import type { ModelConfig } from './config';
import { ModelFormatError } from './errors';
import type { SafetensorsFile, TensorView } from './safetensors';

export interface WeightTensor {
  /** The checkpoint tensor it comes from (for messages). */
  source: string;
  shape: readonly number[];
  /** The values as f32, in the canonical layout. */
  read(): Float32Array;
  /** Rows [begin, end) of dimension 0 as f32, where the layout is the checkpoint's own (exports convert big tensors in slices). */
  readRows?(begin: number, end: number): Float32Array;
}

/**
 * Where a linear layer lives in the Hugging Face module tree, for PEFT adapter keys: `path` like
 * "model.layers.0.self_attn.q_proj"; GPT-2's q, k and v are row blocks [begin, end) of one c_attn module.
 */
export interface ModulePath {
  path: string;
  rows?: readonly [number, number];
  /** GPT-2's Conv1D stores (in, out): PEFT's fan_in_fan_out. */
  fanInFanOut: boolean;
}

export interface LinearWeights {
  /** (out, in) */
  weight: WeightTensor;
  /** (out) */
  bias?: WeightTensor;
  module: ModulePath;
}

export interface NormWeights {
  /** (C) */
  weight: WeightTensor;
  /** (C), LayerNorm only. */
  bias?: WeightTensor;
}

export interface LayerWeights {
  attnNorm: NormWeights;
  /** (Hq * D, C) */
  q: LinearWeights;
  /** (Hkv * D, C) */
  k: LinearWeights;
  /** (Hkv * D, C) */
  v: LinearWeights;
  /** (C, Hq * D) */
  o: LinearWeights;
  mlpNorm: NormWeights;
  /** (F, C), SwiGLU only. */
  gate?: LinearWeights;
  /** (F, C): SwiGLU's up_proj or GPT-2's c_fc. */
  up: LinearWeights;
  /** (C, F): down_proj or GPT-2's mlp.c_proj. */
  down: LinearWeights;
}

export interface ModelWeights {
  /** (V, C) */
  tokenEmbedding: WeightTensor;
  /** (P, C), GPT-2 only. */
  positionEmbedding?: WeightTensor;
  layers: LayerWeights[];
  finalNorm: NormWeights;
  /** (V, C); the same object as tokenEmbedding when the embeddings are tied. */
  lmHead: WeightTensor;
  tied: boolean;
}

/** All tensors of all shards by name. */
class TensorIndex {
  private readonly byName = new Map<string, TensorView>();
  private readonly files: string[];
  /** The tensors the model asked for (get), in first-use order. */
  readonly used = new Set<TensorView>();

  constructor(files: readonly SafetensorsFile[]) {
    this.files = files.map((f) => f.file);
    for (const f of files) for (const [name, t] of f.tensors) this.byName.set(name, t);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string, shape: readonly number[]): TensorView {
    const t = this.byName.get(name);
    if (!t) throw new ModelFormatError(this.files.join(', '), `tensor "${name}" is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(t.file, `tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    this.used.add(t);
    return t;
  }
}

function plain(t: TensorView): WeightTensor {
  return { source: t.name, shape: t.shape, read: () => t.toFloat32(), readRows: (begin, end) => t.rows(begin, end).toFloat32() };
}

/** Rows [begin, end) of a Conv1D weight (in, out) transposed to (end - begin, in). */
function transposedColumns(t: TensorView, begin: number, end: number): WeightTensor {
  const [rows, cols] = t.shape;
  return {
    source: t.name,
    shape: [end - begin, rows],
    read: () => {
      const src = t.toFloat32();
      const out = new Float32Array((end - begin) * rows);
      for (let i = 0; i < rows; i++) for (let j = begin; j < end; j++) out[(j - begin) * rows + i] = src[i * cols + j];
      return out;
    },
  };
}

function slice1d(t: TensorView, begin: number, end: number): WeightTensor {
  return { source: t.name, shape: [end - begin], read: () => t.toFloat32().slice(begin, end) };
}

function llamaWeights(c: ModelConfig, ix: TensorIndex): ModelWeights {
  const C = c.hiddenSize;
  const qOut = c.numHeads * c.headDim;
  const kvOut = c.numKvHeads * c.headDim;
  const F = c.intermediateSize;
  const linear = (path: string, out: number, inp: number, bias: boolean): LinearWeights => ({
    weight: plain(ix.get(`${path}.weight`, [out, inp])),
    bias: bias ? plain(ix.get(`${path}.bias`, [out])) : undefined,
    module: { path, fanInFanOut: false },
  });
  const norm = (name: string): NormWeights => ({ weight: plain(ix.get(`${name}.weight`, [C])) });
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      attnNorm: norm(`${p}.input_layernorm`),
      q: linear(`${p}.self_attn.q_proj`, qOut, C, c.qkvBias),
      k: linear(`${p}.self_attn.k_proj`, kvOut, C, c.qkvBias),
      v: linear(`${p}.self_attn.v_proj`, kvOut, C, c.qkvBias),
      o: linear(`${p}.self_attn.o_proj`, C, qOut, c.outputBias),
      mlpNorm: norm(`${p}.post_attention_layernorm`),
      gate: linear(`${p}.mlp.gate_proj`, F, C, c.mlpBias),
      up: linear(`${p}.mlp.up_proj`, F, C, c.mlpBias),
      down: linear(`${p}.mlp.down_proj`, C, F, c.mlpBias),
    });
  }
  const tokenEmbedding = plain(ix.get('model.embed_tokens.weight', [c.vocabSize, C]));
  const tied = c.tieWordEmbeddings || !ix.has('lm_head.weight');
  if (!c.tieWordEmbeddings && !ix.has('lm_head.weight')) ix.get('lm_head.weight', [c.vocabSize, C]); // names the missing tensor
  return {
    tokenEmbedding,
    layers,
    finalNorm: norm('model.norm'),
    lmHead: tied ? tokenEmbedding : plain(ix.get('lm_head.weight', [c.vocabSize, C])),
    tied,
  };
}

function gpt2Weights(c: ModelConfig, ix: TensorIndex): ModelWeights {
  const C = c.hiddenSize;
  const F = c.intermediateSize;
  // Hub checkpoints of "gpt2" store names without the "transformer." prefix; fine-tuned ones keep it.
  const prefix = ix.has('transformer.wte.weight') ? 'transformer.' : '';
  const conv1d = (path: string, inp: number, out: number, rows?: [number, number]): LinearWeights => {
    const w = ix.get(`${prefix}${path}.weight`, [inp, out]);
    const b = ix.get(`${prefix}${path}.bias`, [out]);
    const [begin, end] = rows ?? [0, out];
    return {
      weight: transposedColumns(w, begin, end),
      bias: slice1d(b, begin, end),
      module: { path: `transformer.${path}`, rows, fanInFanOut: true },
    };
  };
  const norm = (name: string): NormWeights => ({
    weight: plain(ix.get(`${prefix}${name}.weight`, [C])),
    bias: plain(ix.get(`${prefix}${name}.bias`, [C])),
  });
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `h.${l}`;
    layers.push({
      attnNorm: norm(`${p}.ln_1`),
      q: conv1d(`${p}.attn.c_attn`, C, 3 * C, [0, C]),
      k: conv1d(`${p}.attn.c_attn`, C, 3 * C, [C, 2 * C]),
      v: conv1d(`${p}.attn.c_attn`, C, 3 * C, [2 * C, 3 * C]),
      o: conv1d(`${p}.attn.c_proj`, C, C),
      mlpNorm: norm(`${p}.ln_2`),
      up: conv1d(`${p}.mlp.c_fc`, C, F),
      down: conv1d(`${p}.mlp.c_proj`, F, C),
    });
  }
  const tokenEmbedding = plain(ix.get(`${prefix}wte.weight`, [c.vocabSize, C]));
  const tied = c.tieWordEmbeddings || !ix.has('lm_head.weight');
  return {
    tokenEmbedding,
    positionEmbedding: plain(ix.get(`${prefix}wpe.weight`, [c.maxPositions, C])),
    layers,
    finalNorm: norm('ln_f'),
    lmHead: tied ? tokenEmbedding : plain(ix.get('lm_head.weight', [c.vocabSize, C])),
    tied,
  };
}

/** Element i of `shape` as coordinates, e.g. "[3, 17]". */
function coordinates(shape: readonly number[], i: number): string {
  const at: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    at.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return `[${at.join(', ')}]`;
}

/** Refuses a tensor holding NaN or ±Infinity: it would poison every activation it touches, silently. */
function checkFinite(t: TensorView): void {
  const i = t.firstNonFinite();
  if (i < 0) return;
  throw new ModelFormatError(
    t.file,
    `tensor "${t.name}" holds ${t.valueAt(i)} at ${coordinates(t.shape, i)} (index ${i} of ${t.size}); weights that are not finite make every output NaN: the checkpoint is damaged, or was saved after training diverged`,
  );
}

/**
 * Checks every tensor the config needs (name, shape, and that its values are finite: one pass over the
 * bytes already in memory) and returns them in the canonical layout.
 */
export function mapWeights(config: ModelConfig, files: readonly SafetensorsFile[]): ModelWeights {
  const ix = new TensorIndex(files);
  const weights = config.architecture === 'gpt2' ? gpt2Weights(config, ix) : llamaWeights(config, ix);
  for (const t of ix.used) checkFinite(t);
  return weights;
}

/** Parameter count of the canonical weights (tied embeddings counted once). */
export function countParameters(w: ModelWeights): number {
  const size = (t: WeightTensor | undefined) => (t ? t.shape.reduce((a, b) => a * b, 1) : 0);
  const linear = (l: LinearWeights | undefined) => (l ? size(l.weight) + size(l.bias) : 0);
  const norm = (n: NormWeights) => size(n.weight) + size(n.bias);
  let total = size(w.tokenEmbedding) + size(w.positionEmbedding) + norm(w.finalNorm) + (w.tied ? 0 : size(w.lmHead));
  for (const l of w.layers) {
    total += norm(l.attnNorm) + norm(l.mlpNorm);
    total += linear(l.q) + linear(l.k) + linear(l.v) + linear(l.o) + linear(l.gate) + linear(l.up) + linear(l.down);
  }
  return total;
}
