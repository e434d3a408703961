// One allocation plan for LoRA training on the GPU: every buffer one micro-batch's submit holds, with its
// bytes, how many there are and how long they live. The trainer allocates from it (TrainGraph takes each
// activation set, scratch and head buffer from these specs, and the step reserves the kernels' shared
// scratch at the planned size) and the memory estimate (model/memory-estimate.ts) sums it, so the two cannot
// drift apart; tests/gpu/train-memory.test.ts holds the sum against the bytes the device really held
// (ctx.memory.peakBytes). Lifetimes:
//   persistent  created once: the weights, the adapter arena, its gradients and AdamW moments, the arena of
//               parameter blocks
//   layer       one per layer, a step temporary held to the submit (saved activations, layer inputs, and
//               the flash attention backward's per-call temporaries)
//   step        one per step, shared by every layer or vocabulary chunk that uses it (backward scratch, the
//               LM head's logits chunk, the kernels' shared scratch, the batch, readbacks)
// Step temporaries come from the buffer pool (256-byte sizes), persistent buffers from createBuffer (16).
// Shapes: N rows (the packed micro-batch), C hidden, Q = Hq D, K = Hkv D, F intermediate, r rank, L layers.

import { BufferPool } from '../../gpu/buffer-pool';
import { createdBufferSize } from '../../gpu/buffer-size';
import type { LinearSlot } from '../../lora/lora-config';
import type { ModelConfig } from '../../model/config';
import { CE_LSE_BYTES_PER_ROW, CE_RESULT_BYTES, CE_STATE_BYTES_PER_ROW } from '../../ops/gpu/cross-entropy';
import { GRPO_TERMS_BYTES_PER_ROW } from '../../ops/gpu/grpo-grad';
import { WIDEN_SCRATCH_KEY } from '../../ops/gpu/matmul';
import { PREFERENCE_SUMS_BYTES_PER_SEQUENCE } from '../../ops/gpu/preference-grad';
import { sumChunkCount } from '../../ops/gpu/reduce';
import {
  attentionScratch,
  dispatchBound,
  headChunkColumns,
  uniformArenaBytes,
  widenBytes,
  type AttentionGroupShape,
  type TrainKernelTraits,
} from './train-kernel-scratch';

export interface BufferSpec {
  readonly name: string;
  /** Bytes asked for one buffer. */
  readonly bytes: number;
}

export type AllocationLifetime = 'persistent' | 'layer' | 'step';
/** The memory estimate's breakdown (MemoryEstimate's fields). */
export type AllocationCategory = 'weights' | 'lora' | 'gradients' | 'optimizerState' | 'activations' | 'logits' | 'reference';

export interface PlannedBuffer extends BufferSpec {
  count: number;
  lifetime: AllocationLifetime;
  category: AllocationCategory;
  /** What the `count` buffers hold on the device, each rounded as its allocator rounds it. */
  heldBytes: number;
}

/** A packed micro-batch as the plan sees it (packed-batch.ts). */
export interface TrainBatchShape {
  /** N */
  rows: number;
  sequences: number;
  /** Consecutive sequences of one length, one attention call each. */
  groups: readonly AttentionGroupShape[];
  /** Elements of the logsumexp buffer (Hq per row, each group's block 64-aligned). */
  lseElements: number;
}

/** A LoRA arena as the plan sees it (gpu-lora.ts). */
export interface AdapterShape {
  r: number;
  /** f32 elements of the arena, padding included. */
  elements: number;
  /**
   * The saved u = x A^T buffers of a layer: under the first slot each module (or down group of modules
   * reading one input, gpu-lora.ts) feeds, with its width per row (r, or the group's count r).
   */
  uBuffers: readonly { slot: LinearSlot; width: number }[];
  /** Modules per layer (the most any layer has). */
  modulesPerLayer: number;
}

export interface TrainAllocationShape {
  batch: TrainBatchShape;
  weightFormat: 'f16' | 'f32';
  /** Bytes of the model's weight buffers (persistent; the caller counts them, e.g. parameterBytes). */
  weightBytes: number;
  /** The LM head's rows per buffer part (gpu-weights.ts splits a head over the binding limit). */
  headParts: readonly number[];
  adapter: AdapterShape;
  recompute: boolean;
  /** LoRA dropout on (two (N, max in) scratch buffers). */
  dropout: boolean;
  /** The objective's per-row gradient: one scale (SFT), the preference kernel, or GRPO's. */
  objective: 'constant' | 'preference' | 'grpo';
  /** The batch carries the reference's precomputed sums (one f32 per sequence uploaded). */
  referenceSums: boolean;
  /** The reference's forward in this submit, with its adapter (null: the base model); absent: none. */
  referencePass?: AdapterShape | null;
  /** The frozen reference adapter's arena (f32 elements), held beside the trained one. */
  referenceElements?: number;
  /** The optimizer step rides in this submit. */
  optimizer: boolean;
  kernels: TrainKernelTraits;
}

/** One layer's saved set (LayerActivations); stats hold 1 buffer (RMSNorm: rstd) or 2 (LayerNorm: mean, rstd). */
export interface ActivationSpecs {
  attnStats: BufferSpec[];
  h1: BufferSpec;
  q: BufferSpec;
  k: BufferSpec;
  v: BufferSpec;
  attn: BufferSpec;
  lse: BufferSpec;
  xMid: BufferSpec;
  mlpStats: BufferSpec[];
  h2: BufferSpec;
  /** (N, 2F) gate and up side by side (SwiGLU), or (N, F) c_fc output (GELU). */
  a: BufferSpec;
  hidden: BufferSpec;
  u: Partial<Record<LinearSlot, BufferSpec>>;
}

/** One forward pass over the batch: the training pass (saving for the backward) or a scoring pass. */
export interface PassPlan {
  /** (N, C) */
  layerInput: BufferSpec;
  /** L + 1 when training, 2 (ping-pong) when scoring. */
  layerInputs: number;
  activations: ActivationSpecs;
  /** L when training without recomputation, else 1. */
  activationSets: number;
  /** (N, Q + 2K) q, k, v as projected, before RoPE, shared by every layer (RoPE models). */
  qkvPre?: BufferSpec;
  finalNorm: BufferSpec;
  finalStats: BufferSpec[];
  rowLoss: BufferSpec;
  lossResult: BufferSpec;
  lossLse: BufferSpec;
}

/** The backward's scratch, shared by every layer (gpu-train-graph.ts). */
export interface BackwardSpecs {
  dh: BufferSpec;
  dAttn: BufferSpec;
  /** (N, Q + 2K) gradients of q, k, v side by side: the attention backward writes them, RoPE's backward rotates dq and dk in place. */
  dqkv: BufferSpec;
  /** (N, 2F) gradients of gate and up side by side (SwiGLU), or (N, F) of c_fc (GELU). */
  da: BufferSpec;
  dHidden: BufferSpec;
  du: BufferSpec;
  /** (N, C) the gradient of the residual stream, and of the final norm's output. */
  dResidual: BufferSpec;
  dFinal: BufferSpec;
}

export interface TrainAllocationPlan {
  /** (N) ids, positions, labels. */
  batch: { ids: BufferSpec; positions: BufferSpec; labels: BufferSpec };
  training: PassPlan;
  backward: BackwardSpecs;
  /** LoRA dropout: dropout(x) and the gradient through it, (N, max in) each. */
  dropout?: [BufferSpec, BufferSpec];
  reference?: PassPlan;
  /** Kernel scratch the trainer reserves first at its full size, under the kernel's StepEncoder.shared key. */
  reserved: { key: string; spec: BufferSpec }[];
  /** Bytes of the uniform arena the trainer reserves (ctx.uniforms.buffer) for the step's parameter blocks. */
  uniformArenaBytes: number;
  /** Every buffer, persistent ones first. */
  entries: PlannedBuffer[];
  /** Sum of entries' heldBytes: the device memory a step of this shape peaks at. */
  totalBytes: number;
}

/** The batch shape of B sequences of T tokens each (one attention group). */
export function uniformBatchShape(config: ModelConfig, sequences: number, length: number): TrainBatchShape {
  return { rows: sequences * length, sequences, groups: [{ sequences, length }], lseElements: sequences * config.numHeads * length };
}

const spec = (name: string, bytes: number): BufferSpec => ({ name, bytes });

/** The packed batch's (N) token ids, positions and labels. */
export function batchSpecs(rows: number): TrainAllocationPlan['batch'] {
  return { ids: spec('token ids', rows * 4), positions: spec('positions', rows * 4), labels: spec('labels', rows * 4) };
}

/** One forward pass's buffers for N rows with `adapter`'s u buffers (none for the base model). */
export function passPlan(config: ModelConfig, batch: TrainBatchShape, adapter: AdapterShape | null, o: { training: boolean; recompute: boolean }): PassPlan {
  const { hiddenSize: C, numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F, numLayers: L } = config;
  const N = batch.rows;
  const rows = (width: number, name: string) => spec(name, N * width * 4);
  const stats = (what: string) => (config.norm === 'layer' ? [rows(1, `${what} norm mean`), rows(1, `${what} norm rstd`)] : [rows(1, `${what} norm rstd`)]);
  const u: Partial<Record<LinearSlot, BufferSpec>> = {};
  for (const { slot, width } of adapter?.uBuffers ?? []) u[slot] = rows(width, `lora x A^T (${slot})`);
  const swiglu = config.mlp === 'swiglu';
  return {
    layerInput: rows(C, 'layer input'),
    layerInputs: o.training ? L + 1 : 2,
    activations: {
      attnStats: stats('attn'),
      h1: rows(C, 'attn norm out'),
      q: rows(Hq * D, 'q'),
      k: rows(Hkv * D, 'k'),
      v: rows(Hkv * D, 'v'),
      attn: rows(Hq * D, 'attention out'),
      lse: spec('attention lse', Math.max(1, batch.lseElements) * 4),
      xMid: rows(C, 'residual after attention'),
      mlpStats: stats('mlp'),
      h2: rows(C, 'mlp norm out'),
      a: swiglu ? rows(2 * F, 'gate, up') : rows(F, 'fc'),
      hidden: rows(F, 'mlp hidden'),
      u,
    },
    activationSets: o.training && !o.recompute ? L : 1,
    qkvPre: config.positions === 'rope' ? rows((Hq + 2 * Hkv) * D, 'q, k, v before rope') : undefined,
    finalNorm: rows(C, 'final norm out'),
    finalStats: stats('final'),
    rowLoss: rows(1, 'row losses'),
    lossResult: spec('loss result', CE_RESULT_BYTES),
    lossLse: spec('loss lse', N * CE_LSE_BYTES_PER_ROW),
  };
}

/** uWidth: the widest saved u of a layer (r, or a down group's count r): du's width. */
function backwardPlan(config: ModelConfig, N: number, uWidth: number): BackwardSpecs {
  const { hiddenSize: C, numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F } = config;
  const rows = (width: number, name: string) => spec(name, N * width * 4);
  return {
    dh: rows(C, 'd norm out'),
    dAttn: rows(Hq * D, 'd attention out'),
    dqkv: rows((Hq + 2 * Hkv) * D, 'd q, k, v'),
    da: config.mlp === 'swiglu' ? rows(2 * F, 'd gate, up') : rows(F, 'd fc'),
    dHidden: rows(F, 'd mlp hidden'),
    du: rows(uWidth, 'd lora x A^T'),
    dResidual: rows(C, 'd residual'),
    dFinal: rows(C, 'd final norm out'),
  };
}

/** Collects entries, rounding each buffer as the pool (step temporaries) or createBuffer (persistent) does. */
class Entries {
  readonly list: PlannedBuffer[] = [];
  add(s: BufferSpec | undefined, count: number, lifetime: AllocationLifetime, category: AllocationCategory): void {
    if (!s || count === 0) return;
    const one = lifetime === 'persistent' ? createdBufferSize(s.bytes) : BufferPool.roundSize(s.bytes);
    this.list.push({ ...s, count, lifetime, category, heldBytes: one * count });
  }
  pass(p: PassPlan, category: AllocationCategory): void {
    this.add(p.layerInput, p.layerInputs, 'layer', category);
    const setLifetime = p.activationSets > 1 ? 'layer' : 'step';
    for (const [key, value] of Object.entries(p.activations)) {
      const specs: BufferSpec[] = key === 'u' ? Object.values(value as Record<string, BufferSpec>) : [value as BufferSpec | BufferSpec[] | undefined].flat().filter((s): s is BufferSpec => Boolean(s));
      for (const s of specs) this.add(s, p.activationSets, setLifetime, category);
    }
    for (const s of [p.qkvPre, p.finalNorm, ...p.finalStats, p.rowLoss, p.lossResult, p.lossLse]) this.add(s, 1, 'step', category);
  }
}

/** The allocation plan of one micro-batch's submit (see the top of this file). */
export function trainAllocationPlan(config: ModelConfig, shape: TrainAllocationShape): TrainAllocationPlan {
  const { batch, adapter, kernels } = shape;
  const N = batch.rows;
  const { hiddenSize: C, numHeads: Hq, headDim: D, intermediateSize: F, numLayers: L } = config;
  const training = passPlan(config, batch, adapter, { training: true, recompute: shape.recompute });
  const reference = shape.referencePass === undefined ? undefined : passPlan(config, batch, shape.referencePass, { training: false, recompute: false });
  const backward = backwardPlan(config, N, Math.max(adapter.r, ...adapter.uBuffers.map((b) => b.width)));
  const maxIn = Math.max(C, Hq * D, F);
  const dropout: [BufferSpec, BufferSpec] | undefined = shape.dropout ? [spec('lora dropout input', N * maxIn * 4), spec('lora dropout grad', N * maxIn * 4)] : undefined;
  const chunk = headChunkColumns(config, N, shape.headParts);
  const widen = shape.weightFormat === 'f16' ? widenBytes(config, N, chunk, kernels) : 0; // only f16 matrices widen
  const reserved = widen > 0 ? [{ key: WIDEN_SCRATCH_KEY, spec: spec('matmul widened B (f32)', widen) }] : [];

  const e = new Entries();
  // Persistent: the model, the adapters, AdamW, the grad-norm result, the uniform arena.
  e.add(spec('model weights', shape.weightBytes), 1, 'persistent', 'weights');
  const arena = spec('lora parameters', adapter.elements * 4);
  e.add(arena, 1, 'persistent', 'lora');
  e.add(spec('lora gradients', arena.bytes), 1, 'persistent', 'gradients');
  e.add(spec('lora adamw m', arena.bytes), 1, 'persistent', 'optimizerState');
  e.add(spec('lora adamw v', arena.bytes), 1, 'persistent', 'optimizerState');
  e.add(spec('grad norm result', 16), 1, 'persistent', 'activations');
  if (shape.referenceElements !== undefined) e.add(spec('reference lora parameters', shape.referenceElements * 4), 1, 'persistent', 'reference');
  const headChunks = shape.headParts.reduce((n, rows) => n + Math.ceil(rows / Math.min(chunk, rows)), 0);
  const dispatches = dispatchBound(config, {
    loraModules: adapter.modulesPerLayer,
    recompute: shape.recompute,
    referenceModules: shape.referencePass === undefined ? undefined : (shape.referencePass?.modulesPerLayer ?? 0),
    headChunks: headChunks * (reference ? 3 : 2),
  });
  const uniformArena = uniformArenaBytes(dispatches, kernels.uniformAlign);
  e.add(spec('uniform arena (parameter blocks)', uniformArena), 1, 'persistent', 'activations');

  // The batch, the objective's per-row terms, readbacks.
  const rowWords = (name: string) => spec(name, N * 4);
  const batchBuffers = batchSpecs(N);
  for (const s of Object.values(batchBuffers)) e.add(s, 1, 'step', 'activations');
  if (shape.referenceSums) e.add(spec('reference sums', batch.sequences * 4), 1, 'step', 'reference');
  if (shape.objective === 'preference') {
    e.add(rowWords('preference row info'), 1, 'step', 'activations');
    e.add(spec('preference sequence rows', batch.sequences * 8), 1, 'step', 'activations');
    e.add(spec('preference sums', batch.sequences * PREFERENCE_SUMS_BYTES_PER_SEQUENCE), 1, 'step', 'activations');
    e.add(rowWords('preference row gradients'), 1, 'step', 'activations');
  } else if (shape.objective === 'grpo') {
    e.add(spec('grpo row terms', N * GRPO_TERMS_BYTES_PER_ROW), 1, 'step', 'activations');
    e.add(rowWords('grpo row gradients'), 1, 'step', 'activations');
  }
  e.add(rowWords('readback: row losses'), 1, 'step', 'activations');
  if (reference) e.add(rowWords('readback: reference row losses'), 1, 'step', 'reference');

  // The training pass: saved activations, the backward's scratch, the LM head, the kernels' scratch.
  e.pass(training, 'activations');
  for (const s of Object.values(backward)) e.add(s as BufferSpec | undefined, 1, 'step', 'activations');
  for (const s of dropout ?? []) e.add(s, 1, 'step', 'activations');
  for (const r of reserved) e.add(r.spec, 1, 'step', 'activations');
  e.add(spec('lm-head logits chunk', N * chunk * 4), 1, 'step', 'logits');
  e.add(spec('cross-entropy state', N * CE_STATE_BYTES_PER_ROW), 1, 'step', 'activations');
  const attention = attentionScratch(config, batch.groups, kernels, true);
  for (const s of attention.shared) e.add(s, 1, 'step', 'activations');
  for (const s of attention.perLayer) e.add(s, L, 'layer', 'activations');
  if (shape.optimizer) {
    e.add(spec('grad norm partials', sumChunkCount(adapter.elements) * 4), 1, 'step', 'activations');
    e.add(spec('readback: grad norm', 4), 1, 'step', 'activations');
  }
  // DPO's reference forward: its own ping-pong inputs, one activation set and its LM-head loss.
  if (reference) {
    e.pass(reference, 'reference');
    e.add(spec('reference lm-head logits chunk', N * chunk * 4), 1, 'step', 'reference');
    e.add(spec('reference cross-entropy state', N * CE_STATE_BYTES_PER_ROW), 1, 'step', 'reference');
  }
  const entries = e.list;
  return { batch: batchBuffers, training, backward, dropout, reference, reserved, uniformArenaBytes: uniformArena, entries, totalBytes: entries.reduce((n, x) => n + x.heldBytes, 0) };
}

/** The largest entries (by bytes held), e.g. to say what dominates a plan. */
export function largestEntries(plan: TrainAllocationPlan, count = 8): PlannedBuffer[] {
  return [...plan.entries].sort((a, b) => b.heldBytes - a.heldBytes).slice(0, count);
}
