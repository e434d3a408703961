// How much GPU memory a model needs for inference or LoRA training, as a breakdown whose every figure follows
// from the config by a formula stated here (N = B * T rows, all activations f32):
//
//   weights      matrices (embeddings, LM head when untied, every linear) at weightFormat; norms, biases f32
//   kvCache      inference only: L * 2 * B * T * Hkv * D * 4
//   activations  inference: one layer's scratch, reused by every layer: N * inferenceRow * 4
//                training: what the backward reads, saved per layer (or only the layer inputs, with
//                recompute, plus one layer's worth), the final norm and LM-head statistics, and one layer's
//                gradient scratch (N * inferenceRow * 4)
//   lora         r * (in + out) per targeted module per layer, f32; gradients the same, AdamW twice that
//   logits       inference: (B, V) of the last positions; training: one (N, Vc) vocabulary chunk of the loss
//   reference    DPO: the frozen reference adapter's parameters (r' * (in + out) per module per layer, f32)
//                when there is one, and, when the reference scores inside each step (its log-probabilities
//                not precomputed), that forward-only pass: 2 (N, C) layer inputs, one layer's activation
//                set (with r' per reference module), the final norm with its statistics and the loss's
//                (N, 2) lse, and one (N, Vc) LM-head chunk (gpu-train-pass.ts)

import { vocabChunkColumns } from '../ops/gpu/lm-head-loss';
import type { ModelConfig } from './config';

export interface TrainingShape {
  loraRank: number;
  /** Module names (q_proj, ..., GPT-2's c_attn, c_proj, c_fc) or 'all-linear'. */
  targets: readonly string[];
  /** Recompute each layer's activations in the backward instead of saving them. */
  recompute?: boolean;
  /** DPO's reference forward inside every step (absent when its log-probabilities are precomputed). */
  referencePass?: boolean;
  /** The frozen reference adapter (DPO from a saved adapter); absent: the reference is the base model. */
  referenceLora?: { rank: number; targets: readonly string[] };
}

export interface MemoryEstimateOptions {
  /** T */
  seqLen: number;
  /** B */
  batch: number;
  weightFormat: 'f16' | 'f32';
  training?: TrainingShape;
}

/** The two GPU limits that decide whether a tensor fits (GpuLimitSummary has both). */
export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface TensorSize {
  name: string;
  bytes: number;
}

export interface MemoryEstimate {
  parameters: number;
  /** Bytes, each. */
  weights: number;
  kvCache: number;
  activations: number;
  loraParameters: number;
  lora: number;
  gradients: number;
  optimizerState: number;
  logits: number;
  /** The DPO reference: its adapter and its in-step scoring pass (0 without either). */
  reference: number;
  total: number;
  /** The largest single buffer: a weight matrix, one layer's K (or V) cache, an activation or the logits. */
  largestTensor: TensorSize;
  /** Storage bindings the largest tensor needs (1 when it fits one). */
  largestTensorParts: number;
  /** Human-readable problems; empty when none. */
  warnings: string[];
}

interface Module {
  name: string;
  in: number;
  out: number;
}

/** The linear modules of one layer, as PEFT names them (GPT-2's c_attn is one (C -> 3C) module). */
export function layerModules(c: ModelConfig): Module[] {
  const { hiddenSize: C, intermediateSize: F, numHeads: Hq, numKvHeads: Hkv, headDim: D } = c;
  if (c.architecture === 'gpt2') {
    return [
      { name: 'c_attn', in: C, out: 3 * C },
      { name: 'c_proj', in: C, out: C },
      { name: 'c_fc', in: C, out: F },
      { name: 'c_proj', in: F, out: C },
    ];
  }
  return [
    { name: 'q_proj', in: C, out: Hq * D },
    { name: 'k_proj', in: C, out: Hkv * D },
    { name: 'v_proj', in: C, out: Hkv * D },
    { name: 'o_proj', in: Hq * D, out: C },
    { name: 'gate_proj', in: C, out: F },
    { name: 'up_proj', in: C, out: F },
    { name: 'down_proj', in: F, out: C },
  ];
}

/** The modules of one layer that `targets` selects; unknown names are refused by name. */
export function loraModules(c: ModelConfig, targets: readonly string[]): Module[] {
  const modules = layerModules(c);
  const names = new Set(modules.map((m) => m.name));
  if (targets.length === 0) throw new RangeError('LoRA targets are empty: name modules or use "all-linear"');
  for (const t of targets) {
    if (t !== 'all-linear' && !names.has(t)) {
      throw new RangeError(`LoRA target "${t}" is not a linear module of ${c.hfArchitecture} (one of: ${[...names].join(', ')}, all-linear)`);
    }
  }
  return targets.includes('all-linear') ? modules : modules.filter((m) => targets.includes(m.name));
}

interface Matrix {
  name: string;
  /** Elements of one copy. */
  elements: number;
  /** Copies: 1, or L for a per-layer matrix. */
  copies: number;
}

/**
 * The weights in the canonical layout the engines hold (weights.ts: GPT-2's c_attn split into q, k, v):
 * large matrices, and the number of small f32 values (norm weights and biases, LayerNorm biases).
 */
function parameterGroups(c: ModelConfig): { matrices: Matrix[]; vectors: number } {
  const { hiddenSize: C, intermediateSize: F, vocabSize: V, numLayers: L, numHeads: Hq, numKvHeads: Hkv, headDim: D } = c;
  const matrices: Matrix[] = [{ name: 'token embedding', elements: V * C, copies: 1 }];
  if (c.positions === 'learned') matrices.push({ name: 'position embedding', elements: c.maxPositions * C, copies: 1 });
  if (!c.tieWordEmbeddings) matrices.push({ name: 'LM head', elements: V * C, copies: 1 });
  const perLayer: [string, number][] = [
    ['q projection', Hq * D * C],
    ['k projection', Hkv * D * C],
    ['v projection', Hkv * D * C],
    ['attention output projection', C * Hq * D],
    ...(c.mlp === 'swiglu' ? ([['MLP gate projection', F * C]] as [string, number][]) : []),
    ['MLP up projection', F * C],
    ['MLP down projection', C * F],
  ];
  for (const [name, elements] of perLayer) matrices.push({ name, elements, copies: L });
  const normSize = c.norm === 'layer' ? 2 * C : C;
  const biases =
    (c.qkvBias ? Hq * D + 2 * Hkv * D : 0) + (c.outputBias ? C : 0) + (c.mlpBias ? (c.mlp === 'swiglu' ? 2 * F : F) + C : 0);
  return { matrices, vectors: L * (2 * normSize + biases) + normSize };
}

/** Parameters the config describes (tied embeddings counted once); equals countParameters(mapWeights(...)). */
export function parameterCount(c: ModelConfig): number {
  const { matrices, vectors } = parameterGroups(c);
  return matrices.reduce((a, m) => a + m.elements * m.copies, 0) + vectors;
}

/** f32 values per row of one layer's inference scratch: x, norm out, sublayer out, q, attn out, k, v, MLP. */
function inferenceRow(c: ModelConfig): number {
  const mlp = c.mlp === 'swiglu' ? 3 * c.intermediateSize : 2 * c.intermediateSize;
  return 3 * c.hiddenSize + 2 * c.numHeads * c.headDim + 2 * c.numKvHeads * c.headDim + mlp;
}

/**
 * f32 values per row one layer saves for its backward: input, attention norm out and its statistics,
 * q, k, v, attention out and its logsumexp, the residual after attention, MLP norm out and statistics,
 * the MLP intermediates, and each LoRA module's (r) down-projection.
 */
function savedRow(c: ModelConfig, loraPerRow: number): number {
  const C = c.hiddenSize;
  const stats = c.norm === 'layer' ? 2 : 1;
  const mlp = c.mlp === 'swiglu' ? 3 * c.intermediateSize : 2 * c.intermediateSize;
  return 4 * C + 2 * stats + 2 * c.numHeads * c.headDim + 2 * c.numKvHeads * c.headDim + c.numHeads + mlp + loraPerRow;
}

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function estimateMemory(c: ModelConfig, o: MemoryEstimateOptions, limits?: BufferLimits): MemoryEstimate {
  for (const [name, v] of Object.entries({ seqLen: o.seqLen, batch: o.batch })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`memory estimate: ${name} must be a positive integer, got ${v}`);
  }
  const { hiddenSize: C, vocabSize: V, numLayers: L, numKvHeads: Hkv, headDim: D } = c;
  const N = o.batch * o.seqLen;
  const wb = o.weightFormat === 'f16' ? 2 : 4;
  const groups = parameterGroups(c);
  const weights = groups.matrices.reduce((a, m) => a + m.elements * m.copies * wb, 0) + groups.vectors * 4;
  const kvLayer = o.batch * o.seqLen * Hkv * D * 4;

  let kvCache = 0;
  let activations = N * inferenceRow(c) * 4;
  let loraParameters = 0;
  let logits = o.batch * V * 4;
  let reference = 0;
  const t = o.training;
  if (!t) {
    kvCache = L * 2 * kvLayer;
  } else {
    if (!Number.isInteger(t.loraRank) || t.loraRank < 1) throw new RangeError(`LoRA rank must be a positive integer, got ${t.loraRank}`);
    const modules = loraModules(c, t.targets);
    loraParameters = L * modules.reduce((a, m) => a + t.loraRank * (m.in + m.out), 0);
    const row = savedRow(c, t.loraRank * modules.length);
    const saved = t.recompute ? L * N * C + N * row : L * N * row;
    const headRow = C + (c.norm === 'layer' ? 2 : 1) + 2; // final norm out, its stats, the loss's (N, 2) lse
    activations = (saved + N * headRow) * 4 + N * inferenceRow(c) * 4;
    logits = N * vocabChunkColumns({ rows: N, channels: C, vocab: V }) * 4;
    const ref = t.referenceLora;
    const refModules = ref ? loraModules(c, ref.targets) : [];
    if (ref) reference += L * refModules.reduce((a, m) => a + ref.rank * (m.in + m.out), 0) * 4;
    // savedRow counts one layer input; the scoring pass ping-pongs between two.
    if (t.referencePass) reference += N * (C + savedRow(c, (ref?.rank ?? 0) * refModules.length) + headRow) * 4 + logits;
  }
  const lora = loraParameters * 4;
  const gradients = loraParameters * 4;
  const optimizerState = 2 * loraParameters * 4;

  // Each tensor is its own buffer; the widest activation is (N, max(F, C, Hq * D)).
  const buffers: TensorSize[] = [
    ...groups.matrices.map((m) => ({ name: m.name, bytes: m.elements * wb })),
    { name: t ? 'logits chunk' : 'logits', bytes: logits },
    { name: 'widest activation', bytes: N * Math.max(c.intermediateSize, C, c.numHeads * D) * 4 },
  ];
  if (!t) buffers.push({ name: 'KV cache of one layer (K or V)', bytes: kvLayer });
  const largestTensor = buffers.reduce((a, b) => (b.bytes > a.bytes ? b : a));

  const warnings: string[] = [];
  if (o.seqLen > c.maxPositions) warnings.push(`sequence length ${o.seqLen} exceeds the model's ${c.maxPositions} positions (max_position_embeddings)`);
  let largestTensorParts = 1;
  if (limits) {
    largestTensorParts = Math.ceil(largestTensor.bytes / limits.maxStorageBufferBindingSize);
    if (largestTensorParts > 1) {
      warnings.push(
        `${largestTensor.name} (${MiB(largestTensor.bytes)}) exceeds the storage binding limit (${MiB(limits.maxStorageBufferBindingSize)}): ` +
          `it will be split into ${largestTensorParts} parts`,
      );
    }
    if (largestTensor.bytes > limits.maxBufferSize) {
      warnings.push(`${largestTensor.name} (${MiB(largestTensor.bytes)}) exceeds the largest buffer this GPU allows (${MiB(limits.maxBufferSize)})`);
    }
  }
  const total = weights + kvCache + activations + lora + gradients + optimizerState + logits + reference;
  return {
    parameters: parameterCount(c),
    weights,
    kvCache,
    activations,
    loraParameters,
    lora,
    gradients,
    optimizerState,
    logits,
    reference,
    total,
    largestTensor,
    largestTensorParts,
    warnings,
  };
}
