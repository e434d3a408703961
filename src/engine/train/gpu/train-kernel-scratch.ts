// The temporaries the kernels of a training step take themselves (ops/gpu/*), predicted for the allocation
// plan (train-allocation.ts) from the sizes and rules those kernels export:
//   - matmul's f32 copy of an f16 B (software adapters' register kernels): one step scratch under
//     WIDEN_SCRATCH_KEY, which the trainer reserves at the largest size first, so it is exactly that size
//     (a whole layer's weights, widened together, or an LM-head chunk);
//   - attention: on the 'matmul' path (software adapters, head size >= 32) the (B, Hq, Tq, Tk) scores and
//     their gradients and, for GQA, two (B, Tk, Hq, D) partials, each a StepEncoder.shared scratch (a request
//     larger than the buffer so far takes a new one: held = every size that beat all before it, in recording
//     order); on the flash kernels each backward call takes its (B, Hq, Tq) delta and, for GQA, two
//     (B, Tk, Hq, D) partials, held to the submit (one set per layer and attention group);
//   - the LM-head loss: one (N, Vc) logits chunk and the (N) cross-entropy state per pass;
//   - the uniform arena of parameter blocks (one per dispatch, at the device's offset alignment), reserved by
//     the trainer at an upper bound of the step's dispatches.

import { isSoftwareAdapter } from '../../gpu/adapter-info';
import type { GpuContext } from '../../gpu/context';
import { MAX_WORKGROUPS_PER_DIM } from '../../gpu/kernel';
import type { ModelConfig } from '../../model/config';
import { MATMUL_MIN_HEAD_DIM, MAX_SCORE_BYTES } from '../../ops/gpu/attention-matmul';
import { vocabChunkColumns } from '../../ops/gpu/lm-head-loss';
import { widenScratchBytes } from '../../ops/gpu/matmul';
import { layerMatrixLayout } from '../../model/gpu/gpu-weights';

/** How the device's kernels allocate: what the plan needs to know of the adapter. */
export interface TrainKernelTraits {
  /** f16 products widen B into an f32 step scratch (software adapters' rule, or a tuning that picks widening). */
  widenF16: boolean;
  /** A widened copy must fit one storage binding; larger matrices are read as f16 in place. */
  widenLimitBytes: number;
  /** 'matmul' (software adapters: materialised scores from head size 32, 'direct' below) or 'flash' (real GPUs). */
  attention: 'matmul' | 'flash';
  /** minUniformBufferOffsetAlignment: each dispatch's parameter block takes this much of the arena. */
  uniformAlign: number;
}

/** A real GPU without a matmul tuning: flash attention, no widening. */
export const HARDWARE_KERNELS: TrainKernelTraits = { widenF16: false, widenLimitBytes: 0, attention: 'flash', uniformAlign: 256 };

/** Software adapters (SwiftShader, lavapipe): the default rule widens f16 B and attention runs on matmuls. */
export function softwareKernels(maxStorageBufferBindingSize: number): TrainKernelTraits {
  return { widenF16: true, widenLimitBytes: maxStorageBufferBindingSize, attention: 'matmul', uniformAlign: 256 };
}

export function kernelTraits(ctx: GpuContext): TrainKernelTraits {
  const software = isSoftwareAdapter(ctx.adapter);
  const tunedWiden = ctx.matmulTuning?.slots.some((v) => v?.startsWith('widen+')) ?? false;
  return {
    widenF16: software || tunedWiden,
    widenLimitBytes: ctx.limits.maxStorageBufferBindingSize,
    attention: software ? 'matmul' : 'flash',
    uniformAlign: ctx.limits.minUniformBufferOffsetAlignment,
  };
}

/** The register kernels widen only products of at least this many rows (matmul.ts's default rule). */
const WIDEN_MIN_ROWS = 16;

/**
 * Bytes of the widening scratch a step of N rows needs: the largest f16 matrix a product reads (a layer's
 * weight, or one vocabulary chunk of the LM head) whose f32 copy fits a binding; 0 when nothing is widened.
 */
export function widenBytes(config: ModelConfig, rows: number, headChunkRows: number, traits: TrainKernelTraits): number {
  if (!traits.widenF16 || rows < WIDEN_MIN_ROWS) return 0;
  const { hiddenSize: C, intermediateSize: F, numHeads: Hq, numKvHeads: Hkv, headDim: D } = config;
  const matrices = [Hq * D * C, Hkv * D * C, Hkv * D * C, C * Hq * D, ...(config.mlp === 'swiglu' ? [F * C] : []), F * C, C * F];
  // A layer's weights (one buffer) widen together when their copy fits one binding (widened-layer.ts), else
  // one by one.
  const layer = widenScratchBytes(layerMatrixLayout(matrices).elements);
  const spans = [...(layer <= traits.widenLimitBytes ? [layer] : matrices.map(widenScratchBytes)), widenScratchBytes(headChunkRows * C)];
  const fitting = spans.filter((b) => b <= traits.widenLimitBytes);
  return fitting.length ? Math.max(...fitting) : 0;
}

/** The largest LM-head logits chunk (columns) for N rows, over the head's buffer parts (rows per part). */
export function headChunkColumns(config: ModelConfig, rows: number, headParts: readonly number[]): number {
  return Math.max(...headParts.map((vocab) => vocabChunkColumns({ rows, channels: config.hiddenSize, vocab })));
}

export interface AttentionGroupShape {
  sequences: number;
  /** T of each sequence. */
  length: number;
}

export interface AttentionScratch {
  /** StepEncoder.shared buffers of the matmul path: name and bytes of each buffer the step holds. */
  shared: { name: string; bytes: number }[];
  /** Per backward call of the flash kernels (one per layer and group on that path), held to the submit. */
  perLayer: { name: string; bytes: number }[];
}

/** Buffers a shared key ends up holding for requests in this order: each size that beats all before it. */
function sharedHeld(sizes: readonly number[]): number[] {
  const held: number[] = [];
  for (const s of sizes) if (s > (held[held.length - 1] ?? 0)) held.push(s);
  return held;
}

/** What attention takes over the groups of a micro-batch (attention.ts / attention-matmul.ts). */
export function attentionScratch(config: ModelConfig, groups: readonly AttentionGroupShape[], traits: TrainKernelTraits, backward: boolean): AttentionScratch {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = config;
  const gqa = Hq !== Hkv;
  const scores: number[] = [];
  const partials: number[] = [];
  const perLayer: { name: string; bytes: number }[] = [];
  for (const g of groups) {
    const scoreBytes = g.sequences * Hq * g.length * g.length * 4;
    const partialBytes = g.sequences * g.length * Hq * D * 4;
    const matmulPath = traits.attention === 'matmul' && D >= MATMUL_MIN_HEAD_DIM && scoreBytes <= MAX_SCORE_BYTES && g.sequences * Hq <= MAX_WORKGROUPS_PER_DIM;
    if (matmulPath) {
      scores.push(scoreBytes);
      if (gqa) partials.push(partialBytes);
    } else if (backward) {
      perLayer.push({ name: `attention delta (${g.sequences} x ${g.length})`, bytes: g.sequences * Hq * g.length * 4 });
      if (gqa) {
        perLayer.push({ name: `attention dk partial (${g.sequences} x ${g.length})`, bytes: partialBytes });
        perLayer.push({ name: `attention dv partial (${g.sequences} x ${g.length})`, bytes: partialBytes });
      }
    }
  }
  const shared: { name: string; bytes: number }[] = [];
  const add = (name: string, sizes: readonly number[]) => sharedHeld(sizes).forEach((bytes) => shared.push({ name, bytes }));
  add('attention scores', scores);
  if (backward) {
    add('attention score grads', scores);
    add('attention dk partial', partials);
    add('attention dv partial', partials);
  }
  return { shared, perLayer };
}

/**
 * At most this many dispatches in one micro-batch's submit (each takes one parameter block of the uniform
 * arena): per layer at most 32 in a forward and 48 in the backward (a software adapter's widening and
 * matmul attention included, flash attention has fewer), 3 and 6 more per adapted module; 4 per LM-head
 * chunk and pass, 40 besides. The trainer reserves the arena at this bound, so the plan's figure is the
 * arena's size unless a step ever needs more (stories260K, r 8 on q, v: 405 dispatches, bound 538).
 */
export function dispatchBound(config: ModelConfig, o: { loraModules: number; recompute: boolean; referenceModules?: number; headChunks: number }): number {
  const forward = 32 + 3 * o.loraModules;
  const backward = 48 + 6 * o.loraModules;
  const reference = o.referenceModules === undefined ? 0 : 32 + 3 * o.referenceModules;
  return config.numLayers * (forward * (o.recompute ? 2 : 1) + backward + reference) + 4 * o.headChunks + 40;
}

/** The uniform arena's size for that many parameter blocks (uniform-arena.ts: 64 KiB, doubling). */
export function uniformArenaBytes(dispatches: number, align: number): number {
  let size = 64 * 1024;
  while (size < dispatches * align) size *= 2;
  return size;
}
