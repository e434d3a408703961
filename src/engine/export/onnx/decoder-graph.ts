// The decoder with a KV cache as one ONNX graph, in the layout Optimum exports and transformers.js loads
// (optimum/exporters/onnx/model_configs.py TextDecoderWithPositionIdsOnnxConfig; transformers.js
// models/modeling_utils.js): inputs input_ids (B, T), attention_mask (B, P + T), position_ids (B, T),
// past_key_values.N.key / .value (B, Hkv, P, D); outputs logits (B, T, V) and present.N.key / .value
// (B, Hkv, P + T, D). Llama and Qwen2 (RMSNorm, RoPE, SwiGLU, grouped-query attention) and GPT-2 (LayerNorm,
// learned positions, gelu_new) from the same canonical weights the engine runs, with any adapter merged.
//
// Precision 'fp16' stores matrices and embeddings as f16, runs the linear layers in f16 and keeps the KV cache
// in f16; norms, RoPE, softmax and the residual stream stay f32 (as the engine's f16 weight path does), and
// logits are f32.

import type { ModelConfig } from '../../model/config';
import { modelRopeFrequencies } from '../../model/rope-frequencies';
import type { LinearWeights, ModelWeights, NormWeights, WeightTensor } from '../../model/weights';
import { checkedF16Bits, encodeFloats, encodeRowSlices, SLICE_VALUES } from '../tensor-encode';
import { attr, GraphBuilder } from './graph-builder';
import { OnnxType } from './onnx-messages';

export type OnnxPrecision = 'fp32' | 'fp16';

/** The smallest f32, the additive mask transformers uses (torch.finfo(float32).min). */
const MASKED = -3.4028234663852886e38;

interface Ctx {
  g: GraphBuilder;
  c: ModelConfig;
  fp16: boolean;
}

const weightType = (fp16: boolean) => (fp16 ? OnnxType.FLOAT16 : OnnxType.FLOAT);

/** A weight read on demand and stored as f32 or f16. */
function tensorInit(ctx: Ctx, name: string, dims: number[], values: () => Float32Array, half = ctx.fp16): string {
  return ctx.g.initializer(name, weightType(half), dims, () => [encodeFloats(values(), half ? 'F16' : 'F32', name)]);
}

/** A checkpoint tensor stored as it is laid out, converted in row slices where the tensor offers them. */
function plainInit(ctx: Ctx, name: string, tensor: WeightTensor, half = ctx.fp16): string {
  const readRows = tensor.readRows;
  if (!readRows) return tensorInit(ctx, name, [...tensor.shape], () => tensor.read(), half);
  return ctx.g.initializer(name, weightType(half), [...tensor.shape], () => encodeRowSlices(tensor.shape, readRows, half ? 'F16' : 'F32', name));
}

/**
 * (out, in) matrices stacked along out and transposed to (in, sum out) for MatMul, written straight into the
 * stored dtype; parts that offer row slices are read a slice at a time, so no f32 copy of a whole
 * (4864, 896) matrix is made (less garbage between collections in a browser worker).
 */
function transposedStackInit(ctx: Ctx, name: string, parts: WeightTensor[], half = ctx.fp16): string {
  const inF = parts[0].shape[1];
  const outTotal = parts.reduce((n, p) => n + p.shape[0], 0);
  return ctx.g.initializer(name, weightType(half), [inF, outTotal], () => {
    const out = half ? new Uint16Array(inF * outTotal) : new Float32Array(inF * outTotal);
    let col = 0;
    for (const p of parts) {
      const rows = p.shape[0];
      const step = p.readRows ? Math.max(1, Math.floor(SLICE_VALUES / inF)) : rows;
      for (let begin = 0; begin < rows; begin += step) {
        const end = Math.min(rows, begin + step);
        const w = p.readRows ? p.readRows(begin, end) : p.read();
        for (let o = begin; o < end; o++) {
          const src = (o - begin) * inF;
          const dst = col + o;
          if (out instanceof Uint16Array) for (let i = 0; i < inF; i++) out[i * outTotal + dst] = checkedF16Bits(w[src + i], name, i * outTotal + dst);
          else for (let i = 0; i < inF; i++) out[i * outTotal + dst] = w[src + i];
        }
      }
      col += rows;
    }
    return [new Uint8Array(out.buffer)];
  });
}

function concatVectors(parts: WeightTensor[]): () => Float32Array {
  return () => {
    const out = new Float32Array(parts.reduce((n, p) => n + p.shape[0], 0));
    let at = 0;
    for (const p of parts) {
      out.set(p.read(), at);
      at += p.shape[0];
    }
    return out;
  };
}

/** x (B, T, in) f32 -> x @ W^T + b (B, T, sum out) f32, for one or several linear layers fused along out. */
function linear(ctx: Ctx, name: string, x: string, layers: LinearWeights[]): string {
  const { g, fp16 } = ctx;
  const outTotal = layers.reduce((n, l) => n + l.weight.shape[0], 0);
  const w = transposedStackInit(ctx, `${name}.weight`, layers.map((l) => l.weight));
  let y = g.op('MatMul', [fp16 ? g.op('Cast', [x], { to: attr.int(OnnxType.FLOAT16) }) : x, w]);
  if (layers.some((l) => l.bias)) {
    if (!layers.every((l) => l.bias)) throw new RangeError(`${name}: fused layers must all have a bias or none`);
    y = g.op('Add', [y, tensorInit(ctx, `${name}.bias`, [outTotal], concatVectors(layers.map((l) => l.bias!)))]);
  }
  return fp16 ? g.op('Cast', [y], { to: attr.int(OnnxType.FLOAT) }) : y;
}

/** RMSNorm (Llama: x * rsqrt(mean(x^2) + eps) * w) or LayerNorm (GPT-2), in f32. */
function norm(ctx: Ctx, name: string, x: string, n: NormWeights): string {
  const { g, c } = ctx;
  const C = c.hiddenSize;
  const w = tensorInit(ctx, `${name}.weight`, [C], () => n.weight.read(), false);
  if (c.norm === 'layer') {
    const b = tensorInit(ctx, `${name}.bias`, [C], () => n.bias!.read(), false);
    return g.op('LayerNormalization', [x, w, b], { axis: attr.int(-1), epsilon: attr.float(c.normEps) });
  }
  const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: attr.ints([-1]), keepdims: attr.int(1) });
  const inverse = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [meanSquare, g.float(c.normEps)])])]);
  return g.op('Mul', [g.op('Mul', [x, inverse]), w]);
}

/** (B, T, H * D) -> (B, H, T, D) */
function heads(g: GraphBuilder, x: string, h: number, d: number): string {
  return g.op('Transpose', [g.op('Reshape', [x, g.int64([0, 0, h, d])])], { perm: attr.ints([0, 2, 1, 3]) });
}

/** x * cos + rotate_half(x) * sin, as transformers' apply_rotary_pos_emb; x (B, H, T, D), cos/sin (B, 1, T, D). */
function rotate(g: GraphBuilder, x: string, cos: string, sin: string, d: number): string {
  const [x1, x2] = g.opMulti('Split', [x, g.int64([d / 2, d / 2])], 2, { axis: attr.int(-1) });
  const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: attr.int(-1) });
  return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
}

/** gelu_new / gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) */
function geluTanh(g: GraphBuilder, x: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.float(0.044715)])]), g.float(Math.sqrt(2 / Math.PI))]);
  return g.op('Mul', [g.op('Mul', [x, g.float(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.float(1)])]);
}

/** The additive attention bias (B, 1, T, P + T): 0 where a query may see a key (causal and not padding), else MASKED. */
function attentionBias(g: GraphBuilder, attentionMask: string, inputIds: string, pastKey: string): string {
  const scalar = (v: string) => g.op('Squeeze', [v, g.int64([0])]);
  const past = g.op('Shape', [pastKey], { start: attr.int(2), end: attr.int(3) });
  const length = g.op('Shape', [inputIds], { start: attr.int(1), end: attr.int(2) });
  const total = g.op('Add', [past, length]);
  const keyPositions = g.op('Range', [g.int64([0], true), scalar(total), g.int64([1], true)]); // (S)
  const queryPositions = g.op('Range', [scalar(past), scalar(total), g.int64([1], true)]); // (T)
  const causal = g.op('LessOrEqual', [g.op('Unsqueeze', [keyPositions, g.int64([0])]), g.op('Unsqueeze', [queryPositions, g.int64([1])])]); // (T, S)
  const keep = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: attr.int(OnnxType.BOOL) }), g.int64([1, 2])]); // (B, 1, 1, S)
  return g.op('Where', [g.op('And', [causal, keep]), g.float(0), g.float(MASKED)]);
}

export interface DecoderGraph {
  graph: GraphBuilder;
  /** Optimum's dynamic axis names, for the export's documentation. */
  kvType: 'float32' | 'float16';
}

export function buildDecoderGraph(config: ModelConfig, weights: ModelWeights, precision: OnnxPrecision): DecoderGraph {
  const g = new GraphBuilder();
  const fp16 = precision === 'fp16';
  const ctx: Ctx = { g, c: config, fp16 };
  const C = config.hiddenSize;
  const D = config.headDim;
  const Hq = config.numHeads;
  const Hkv = config.numKvHeads;
  const V = config.vocabSize;
  const kvType = weightType(fp16);

  const inputIds = g.input('input_ids', OnnxType.INT64, ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', OnnxType.INT64, ['batch_size', 'total_sequence_length']);
  const positionIds = g.input('position_ids', OnnxType.INT64, ['batch_size', 'sequence_length']);
  const past = weights.layers.map((_, l) => ({
    key: g.input(`past_key_values.${l}.key`, kvType, ['batch_size', Hkv, 'past_sequence_length', D]),
    value: g.input(`past_key_values.${l}.value`, kvType, ['batch_size', Hkv, 'past_sequence_length', D]),
  }));

  const embedding = plainInit(ctx, 'embed_tokens.weight', weights.tokenEmbedding);
  let x = g.op('Gather', [embedding, inputIds], { axis: attr.int(0) });
  if (fp16) x = g.op('Cast', [x], { to: attr.int(OnnxType.FLOAT) });
  if (weights.positionEmbedding) {
    const wpe = plainInit(ctx, 'wpe.weight', weights.positionEmbedding, false);
    x = g.op('Add', [x, g.op('Gather', [wpe, positionIds], { axis: attr.int(0) })]);
  }

  const bias = attentionBias(g, attentionMask, inputIds, past[0].key);
  let cos = '';
  let sin = '';
  if (config.positions === 'rope') {
    const inverse = modelRopeFrequencies(config);
    const invFreq = tensorInit(ctx, 'rotary.inv_freq', [D / 2], () => inverse, false);
    const positions = g.op('Unsqueeze', [g.op('Cast', [positionIds], { to: attr.int(OnnxType.FLOAT) }), g.int64([2])]); // (B, T, 1)
    const freqs = g.op('Mul', [positions, invFreq]); // (B, T, D/2)
    const angles = g.op('Unsqueeze', [g.op('Concat', [freqs, freqs], { axis: attr.int(-1) }), g.int64([1])]); // (B, 1, T, D)
    cos = g.op('Cos', [angles]);
    sin = g.op('Sin', [angles]);
  }
  const scale = g.float(1 / Math.sqrt(D));
  const groups = Hq / Hkv;

  weights.layers.forEach((layer, l) => {
    const p = `layers.${l}`;
    const h = norm(ctx, `${p}.attn_norm`, x, layer.attnNorm);
    const qkv = linear(ctx, `${p}.qkv_proj`, h, [layer.q, layer.k, layer.v]);
    const [qFlat, kFlat, vFlat] = g.opMulti('Split', [qkv, g.int64([Hq * D, Hkv * D, Hkv * D])], 3, { axis: attr.int(-1) });
    let q = heads(g, qFlat, Hq, D);
    let k = heads(g, kFlat, Hkv, D);
    let v = heads(g, vFlat, Hkv, D);
    if (config.positions === 'rope') {
      q = rotate(g, q, cos, sin, D);
      k = rotate(g, k, cos, sin, D);
    }
    const toCache = (t: string) => (fp16 ? g.op('Cast', [t], { to: attr.int(OnnxType.FLOAT16) }) : t);
    const fromCache = (t: string) => (fp16 ? g.op('Cast', [t], { to: attr.int(OnnxType.FLOAT) }) : t);
    const presentKey = g.op('Concat', [past[l].key, toCache(k)], { axis: attr.int(2) }, `present.${l}.key`);
    const presentValue = g.op('Concat', [past[l].value, toCache(v)], { axis: attr.int(2) }, `present.${l}.value`);
    // Grouped-query attention: each of the Hkv cached heads serves Hq / Hkv query heads.
    const repeat = (t: string) =>
      groups === 1 ? t : g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [t, g.int64([2])]), g.int64([1, 1, groups, 1, 1])]), g.int64([0, Hq, -1, D])]);
    const keys = repeat(fromCache(presentKey)); // (B, Hq, S, D)
    const values = repeat(fromCache(presentValue));
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [keys], { perm: attr.ints([0, 1, 3, 2]) })]), scale]), bias]);
    const context = g.op('MatMul', [g.op('Softmax', [scores], { axis: attr.int(-1) }), values]); // (B, Hq, T, D)
    const merged = g.op('Reshape', [g.op('Transpose', [context], { perm: attr.ints([0, 2, 1, 3]) }), g.int64([0, 0, Hq * D])]);
    x = g.op('Add', [x, linear(ctx, `${p}.o_proj`, merged, [layer.o])]);

    const h2 = norm(ctx, `${p}.mlp_norm`, x, layer.mlpNorm);
    let mlp: string;
    if (config.mlp === 'swiglu') {
      const F = layer.up.weight.shape[0];
      const [gate, up] = g.opMulti('Split', [linear(ctx, `${p}.gate_up_proj`, h2, [layer.gate!, layer.up]), g.int64([F, F])], 2, { axis: attr.int(-1) });
      mlp = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    } else {
      mlp = geluTanh(g, linear(ctx, `${p}.fc`, h2, [layer.up]));
    }
    x = g.op('Add', [x, linear(ctx, `${p}.down_proj`, mlp, [layer.down])]);
    g.outputs.push(
      { name: presentKey, elemType: kvType, dims: ['batch_size', Hkv, 'total_sequence_length', D] },
      { name: presentValue, elemType: kvType, dims: ['batch_size', Hkv, 'total_sequence_length', D] },
    );
  });

  // The LM head as Gemm with transB, so a tied head reads the embedding's own initializer (no transposed copy).
  const final = norm(ctx, 'final_norm', x, weights.finalNorm);
  const head = weights.tied ? embedding : plainInit(ctx, 'lm_head.weight', weights.lmHead);
  const rows = g.op('Reshape', [final, g.int64([-1, C])]);
  let logits = g.op('Gemm', [fp16 ? g.op('Cast', [rows], { to: attr.int(OnnxType.FLOAT16) }) : rows, head], { transB: attr.int(1) });
  if (fp16) logits = g.op('Cast', [logits], { to: attr.int(OnnxType.FLOAT) });
  const shape = g.op('Concat', [g.op('Shape', [inputIds]), g.int64([V])], { axis: attr.int(0) });
  g.op('Reshape', [logits, shape], {}, 'logits');
  // logits first, as Optimum orders the outputs.
  g.outputs.unshift({ name: 'logits', elemType: OnnxType.FLOAT, dims: ['batch_size', 'sequence_length', V] });
  return { graph: g, kvType: fp16 ? 'float16' : 'float32' };
}
