// How much GPU memory a model needs for inference or LoRA training, as a breakdown whose every figure follows
// from the config (N = B * T rows, all activations f32):
//
//   weights      matrices (embeddings, LM head when untied, every linear) at weightFormat; norms, biases f32
//   kvCache      inference only: L * 2 * B * T * Hkv * D * 4
//   activations  inference: one layer's scratch, reused by every layer: N * inferenceRow * 4
//   logits       inference: (B, V) of the last positions
// Training is the sum of the trainer's own allocation plan (train/gpu/train-allocation.ts: every buffer a
// step holds, the same plan the trainer allocates from), by category: the adapter arena (lora), its
// gradients and AdamW moments, the saved activations, backward scratch and kernel scratch (activations),
// the LM head's vocabulary chunk (logits), and DPO's reference (its adapter and its scoring pass in the step).

import { vocabChunkColumns } from '../ops/gpu/lm-head-loss';
import type { LinearSlot } from '../lora/lora-config';
import { downGroups, layerUBuffers, layoutArena } from '../train/gpu/gpu-lora';
import { trainAllocationPlan, uniformBatchShape, type AdapterShape, type PlannedBuffer } from '../train/gpu/train-allocation';
import { HARDWARE_KERNELS, type TrainKernelTraits } from '../train/gpu/train-kernel-scratch';
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
  /** LoRA dropout above 0 (two (N, max in) scratch buffers). */
  dropout?: boolean;
  /** The objective's per-row gradient: SFT (default; also DPO/SimPO/ORPO without it: a few (N) buffers). */
  objective?: 'sft' | 'preference' | 'grpo';
}

export interface MemoryEstimateOptions {
  /** T */
  seqLen: number;
  /** B */
  batch: number;
  weightFormat: 'f16' | 'f32';
  training?: TrainingShape;
  /** How the device's kernels allocate (train-kernel-scratch.ts: kernelTraits(ctx)); default a real GPU's. */
  kernels?: TrainKernelTraits;
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
  /** Training: every buffer of the allocation plan, the sum of whose heldBytes is `total`. */
  plan?: PlannedBuffer[];
}

interface Module {
  name: string;
  in: number;
  out: number;
  /** The slots it feeds (GPT-2's c_attn: q, k and v), in LINEAR_SLOTS order. */
  slots: LinearSlot[];
}

/** The linear modules of one layer, as PEFT names them (GPT-2's c_attn is one (C -> 3C) module). */
export function layerModules(c: ModelConfig): Module[] {
  const { hiddenSize: C, intermediateSize: F, numHeads: Hq, numKvHeads: Hkv, headDim: D } = c;
  if (c.architecture === 'gpt2') {
    return [
      { name: 'c_attn', in: C, out: 3 * C, slots: ['q', 'k', 'v'] },
      { name: 'c_proj', in: C, out: C, slots: ['o'] },
      { name: 'c_fc', in: C, out: F, slots: ['up'] },
      { name: 'c_proj', in: F, out: C, slots: ['down'] },
    ];
  }
  return [
    { name: 'q_proj', in: C, out: Hq * D, slots: ['q'] },
    { name: 'k_proj', in: C, out: Hkv * D, slots: ['k'] },
    { name: 'v_proj', in: C, out: Hkv * D, slots: ['v'] },
    { name: 'o_proj', in: Hq * D, out: C, slots: ['o'] },
    { name: 'gate_proj', in: C, out: F, slots: ['gate'] },
    { name: 'up_proj', in: C, out: F, slots: ['up'] },
    { name: 'down_proj', in: F, out: C, slots: ['down'] },
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

/**
 * f32 values per row of the layers' inference scratch (gpu-inference-layer.ts allocateLayerScratch): x, norm
 * out, q, k, v, attention out, RoPE models' fused q, k, v as projected, and the MLP's [gate | up] (or c_fc) and
 * hidden.
 */
function inferenceRow(c: ModelConfig): number {
  const [Q, K, F] = [c.numHeads * c.headDim, c.numKvHeads * c.headDim, c.intermediateSize];
  const mlp = c.mlp === 'swiglu' ? 3 * F : 2 * F;
  const fused = c.positions === 'rope' ? Q + 2 * K : 0;
  return 2 * c.hiddenSize + 2 * Q + 2 * K + fused + mlp;
}

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * The adapter arena of `modules` in every layer at rank r, as gpu-lora.ts lays it out and groups the
 * down-projections of modules reading one input (every layer alike: layer 0's groups).
 */
function adapterShape(c: ModelConfig, modules: readonly Module[], r: number, dropout: boolean): AdapterShape {
  const perLayer = modules.map((m) => ({ lengthA: r * m.in, lengthB: m.out * r }));
  const { offsets, elements } = layoutArena(Array.from({ length: c.numLayers }, () => perLayer).flat());
  const layer0 = modules.map((m, i) => ({ slots: m.slots, inFeatures: m.in, offsetA: offsets[i].offsetA, lengthA: r * m.in }));
  return { r, elements, uBuffers: layerUBuffers(layer0, downGroups(layer0, dropout), r), modulesPerLayer: modules.length };
}

/** The LM head's rows per buffer: gpu-weights.ts splits a head larger than one binding by rows. */
function headParts(c: ModelConfig, bytesPerWeight: number, limits: BufferLimits | undefined): number[] {
  const V = c.vocabSize;
  if (!limits) return [V];
  const limit = Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / 16) * 16;
  const rowsPerPart = Math.max(1, Math.floor(limit / (c.hiddenSize * bytesPerWeight)));
  return Array.from({ length: Math.ceil(V / rowsPerPart) }, (_, i) => Math.min(rowsPerPart, V - i * rowsPerPart));
}

/** The training step's allocation plan for B sequences of T tokens (see train-allocation.ts). */
function trainingPlan(c: ModelConfig, o: MemoryEstimateOptions, t: TrainingShape, weights: number, limits: BufferLimits | undefined) {
  if (!Number.isInteger(t.loraRank) || t.loraRank < 1) throw new RangeError(`LoRA rank must be a positive integer, got ${t.loraRank}`);
  const modules = loraModules(c, t.targets);
  const ref = t.referenceLora;
  // The reference is only ever scored, never trained: no dropout.
  const refAdapter = ref ? adapterShape(c, loraModules(c, ref.targets), ref.rank, false) : undefined;
  const objective = t.objective === 'grpo' ? 'grpo' : t.objective === 'preference' || t.referencePass || ref ? 'preference' : 'constant';
  const plan = trainAllocationPlan(c, {
    batch: uniformBatchShape(c, o.batch, o.seqLen),
    weightFormat: o.weightFormat,
    weightBytes: weights,
    headParts: headParts(c, o.weightFormat === 'f16' ? 2 : 4, limits),
    adapter: adapterShape(c, modules, t.loraRank, t.dropout ?? false),
    recompute: t.recompute ?? false,
    dropout: t.dropout ?? false,
    objective,
    referenceSums: false,
    referencePass: t.referencePass ? (refAdapter ?? null) : undefined,
    referenceElements: refAdapter?.elements,
    optimizer: true,
    kernels: o.kernels ?? HARDWARE_KERNELS,
  });
  const loraParameters = c.numLayers * modules.reduce((a, m) => a + t.loraRank * (m.in + m.out), 0);
  return { plan, loraParameters };
}

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

  const t = o.training;
  const byCategory = { weights, kvCache: 0, activations: N * inferenceRow(c) * 4, lora: 0, gradients: 0, optimizerState: 0, logits: o.batch * V * 4, reference: 0 };
  let loraParameters = 0;
  let plan: PlannedBuffer[] | undefined;
  if (!t) {
    byCategory.kvCache = L * 2 * kvLayer;
  } else {
    // The RoPE frequencies (D / 2 f32) are uploaded with the weights.
    const training = trainingPlan(c, o, t, weights + (c.positions === 'rope' ? (D / 2) * 4 : 0), limits);
    loraParameters = training.loraParameters;
    plan = training.plan.entries;
    for (const key of ['weights', 'activations', 'lora', 'gradients', 'optimizerState', 'logits', 'reference'] as const) byCategory[key] = 0;
    for (const e of plan) byCategory[e.category] += e.heldBytes;
  }
  const logits = t ? N * vocabChunkColumns({ rows: N, channels: C, vocab: V }) * 4 : byCategory.logits;
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
  const total = Object.values(byCategory).reduce((a, b) => a + b, 0);
  return {
    parameters: parameterCount(c),
    ...byCategory,
    loraParameters,
    total,
    largestTensor,
    largestTensorParts,
    warnings,
    ...(plan ? { plan } : {}),
  };
}
