import backwardSource from '../../../../shaders/attention_backward.wgsl?raw';
import deltaSource from '../../../../shaders/attention_delta.wgsl?raw';
import forwardSource from '../../../../shaders/attention_forward.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, MAX_WORKGROUPS_PER_DIM } from '../../gpu/kernel';
import { isSoftwareAdapter, type GpuAdapterSummary } from '../../gpu/adapter-info';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import type { AttentionDims, ResolvedAttentionDims } from '../cpu/attention';
import { recordGroupSum, sameBinding } from './attention-group-sum';
import { attentionBackwardMatmul, attentionForwardMatmul, MATMUL_MIN_HEAD_DIM, MAX_SCORE_BYTES, scoreBytes } from './attention-matmul';
import {
  MAX_HEAD_DIM,
  packAttentionParams,
  resolveForGpu,
  withParams,
  type AttentionBackwardLayouts,
  type AttentionForwardLayouts,
  type TensorLayout,
} from './attention-params';

export type { AttentionDims } from '../cpu/attention';
export { MAX_HEAD_DIM, type AttentionBackwardLayouts, type AttentionForwardLayouts, type TensorLayout } from './attention-params';

const FORWARD = defineKernel('attention.forward', withParams('attention_forward.wgsl', forwardSource), 'attention_forward', [
  'read', 'read', 'read', 'write', 'write', 'uniform',
]);
const DELTA = defineKernel('attention.delta', withParams('attention_delta.wgsl', deltaSource), 'attention_delta', ['read', 'read', 'write', 'uniform']);
const BACKWARD_DQ = defineKernel('attention.backward.dq', withParams('attention_backward.wgsl', backwardSource), 'attention_backward_dq', [
  'read', 'read', 'read', 'read', 'read', 'read', 'uniform', 'write',
]);
const BACKWARD_DKDV = defineKernel('attention.backward.dkdv', withParams('attention_backward.wgsl', backwardSource), 'attention_backward_dkdv', [
  'read', 'read', 'read', 'read', 'read', 'read', 'uniform', 'write', 'write',
]);
const BACKWARD_DKDV_SHARED = defineKernel('attention.backward.dkdv_shared', withParams('attention_backward.wgsl', backwardSource), 'attention_backward_dkdv_shared', [
  'read', 'read', 'read', 'read', 'read', 'read', 'uniform', 'write',
]);

/** Workgroup storage every WebGPU device offers (the spec's default limit), so tiles fit everywhere. */
const TILE_BYTES = 16384;
const MAX_TILE = 64; // the forward keeps one chunk's scores in registers (MAX_BK in the shader)
/**
 * Default tiled chunk. On an H100 (Vulkan, D = 64 and 128) chunks of 8, 16 and 32 ran within 5% of each other;
 * 16 leaves room for the backward's extra per-row stats and keeps SwiftShader's compile times short.
 */
const TILED_CHUNK = 16;
const DIRECT_CHUNK = 32;
const ELEMENTWISE_WG = 64;

/**
 * 'tiled': chunks of k/v (or q/dout) are staged in workgroup memory, two barriers per chunk: best on real GPUs.
 * 'direct': every invocation reads storage itself, no barriers and no workgroup memory: what software
 * adapters run when the score matrix would be too large for 'matmul' (barriers are slow there and pipelines
 * with large workgroup arrays take seconds to compile).
 * 'matmul': the score matrix materialised and the products on the matmul kernels (attention-matmul.ts): the
 * default on software adapters, several times faster than 'direct' there.
 */
export type AttentionVariant = 'tiled' | 'direct' | 'matmul';

export interface AttentionTuning {
  /** Default 'tiled'; see preferredAttentionTuning. */
  variant?: AttentionVariant;
  /** Output rows per workgroup = invocations per workgroup (default 64). */
  rows?: number;
  /** Rows per chunk (default tiled: 16, fewer where 16 rows overflow 16 KiB of workgroup memory; direct: 32). */
  tile?: number;
}

/** 'matmul' on software (fallback / SwiftShader / llvmpipe) adapters from MATMUL_MIN_HEAD_DIM ('direct' below), 'tiled' elsewhere. */
export function preferredAttentionTuning(adapter: GpuAdapterSummary, headDim: number): AttentionTuning {
  if (!isSoftwareAdapter(adapter)) return { variant: 'tiled' };
  return { variant: headDim >= MATMUL_MIN_HEAD_DIM ? 'matmul' : 'direct' };
}

/** The variant that runs: 'matmul' gives way to 'direct' where its score matrix or item count would be too large. */
function chosenTuning(step: StepEncoder, r: ResolvedAttentionDims, tuning: AttentionTuning): AttentionTuning {
  const chosen = { ...preferredAttentionTuning(step.ctx.adapter, r.headDim), ...tuning };
  const tooLarge = scoreBytes(r) > MAX_SCORE_BYTES || r.batch * r.hq > MAX_WORKGROUPS_PER_DIM;
  if (chosen.variant === 'matmul' && tooLarge) chosen.variant = 'direct';
  return chosen;
}

function constants(r: ResolvedAttentionDims, tuning: AttentionTuning, extraBytesPerTileRow: number) {
  const HD = r.headDim;
  const BR = tuning.rows ?? 64;
  const variant = tuning.variant ?? 'tiled';
  if (variant !== 'tiled' && variant !== 'direct' && variant !== 'matmul') throw new RangeError(`attention: unknown variant ${String(variant)}`);
  const TILED = variant === 'tiled' ? 1 : 0;
  const bytesPerTileRow = 2 * 16 * ceilDiv(HD, 4) + extraBytesPerTileRow;
  const BK = tuning.tile ?? (TILED ? Math.min(TILED_CHUNK, Math.floor(TILE_BYTES / bytesPerTileRow)) : DIRECT_CHUNK);
  if (TILED && BK * bytesPerTileRow > TILE_BYTES) {
    throw new RangeError(`attention: a tile of ${BK} rows at D = ${HD} needs more than ${TILE_BYTES} bytes of workgroup memory`);
  }
  if (!Number.isInteger(BR) || BR < 1 || BR > 256) throw new RangeError(`attention: rows per workgroup ${BR} out of 1..256`);
  if (!Number.isInteger(BK) || BK < 1 || BK > MAX_TILE) throw new RangeError(`attention: tile ${BK} out of 1..${MAX_TILE}`);
  return { HD, BR, BK, TILED };
}

/**
 * Forward: out (B, Tq, Hq, D) = softmax(scale q k^T, causal with query i at position Tk - Tq + i) v, and
 * lse (B, Hq, Tq) contiguous = each score row's logsumexp, which the backward needs. Writes both.
 * q (B, Tq, Hq, D), k and v (B, Tk, Hkv, D), each placed by its layout. Outputs may alias no input.
 */
export function attentionForward(
  step: StepEncoder,
  out: Binding,
  lse: Binding,
  q: Binding,
  k: Binding,
  v: Binding,
  dims: AttentionDims,
  layouts: AttentionForwardLayouts = {},
  tuning: AttentionTuning = {},
): void {
  const r = resolveForGpu(dims);
  const chosen = chosenTuning(step, r, tuning);
  const c = constants(r, chosen, 0); // validates the tuning whichever variant runs
  if (chosen.variant === 'matmul') {
    attentionForwardMatmul(step, out, lse, q, k, v, r, layouts);
    return;
  }
  const workgroups = r.batch * r.hkv * ceilDiv(r.tq * r.group, c.BR);
  step.dispatch(FORWARD, [q, k, v, out, lse], grid1d(workgroups), packAttentionParams(r, layouts), c);
}

export interface AttentionGradients {
  dq: Binding;
  dk: Binding;
  dv: Binding;
}

export interface AttentionSaved {
  q: Binding;
  k: Binding;
  v: Binding;
  /** The forward's outputs. */
  out: Binding;
  lse: Binding;
}

/**
 * Backward of attentionForward: writes dq (like q), dk and dv (like k and v; for GQA each sums over its
 * group's query heads). Dispatches: Delta = rowsum(dout * out) into a step-scoped temporary; dq; dk/dv per
 * query head; for G > 1 those are partials (two step-scoped (B, Tk, Hq, D) temporaries) that a last pass sums
 * over each group. Every output element is owned by one invocation summing in a fixed order (deterministic,
 * no atomics). dk and dv may be the same binding (e.g. one fused dqkv gradient, their layouts' offsets
 * telling them apart); otherwise they must not overlap. Gradients may alias no input.
 */
export function attentionBackward(
  step: StepEncoder,
  grads: AttentionGradients,
  dout: Binding,
  saved: AttentionSaved,
  dims: AttentionDims,
  layouts: AttentionBackwardLayouts = {},
  tuning: AttentionTuning = {},
): void {
  const r = resolveForGpu(dims);
  const chosen = chosenTuning(step, r, tuning);
  const c = constants(r, chosen, 8); // validates before any temporary is taken, whichever variant runs
  if (chosen.variant === 'matmul') {
    attentionBackwardMatmul(step, grads, dout, saved, r, layouts);
    return;
  }
  const params = packAttentionParams(r, layouts);
  const rowStats = r.batch * r.hq * r.tq;
  const delta = step.temp(rowStats * 4, 'attention.delta');
  const elementwise = { HD: r.headDim, WG: ELEMENTWISE_WG };
  step.dispatch(DELTA, [saved.out, dout, delta], grid1d(ceilDiv(rowStats, ELEMENTWISE_WG)), params, elementwise);

  const { q, k, v, lse } = saved;
  const dqGroups = r.batch * r.hkv * ceilDiv(r.tq * r.group, c.BR);
  step.dispatch(BACKWARD_DQ, [q, k, v, dout, lse, delta, grads.dq], grid1d(dqGroups), params, c);

  const dkvGroups = grid1d(r.batch * r.hq * ceilDiv(r.tk, c.BR));
  const inputs = [q, k, v, dout, lse, delta];
  if (r.group === 1) {
    if (sameBinding(grads.dk, grads.dv)) step.dispatch(BACKWARD_DKDV_SHARED, [...inputs, grads.dk], dkvGroups, params, c);
    else step.dispatch(BACKWARD_DKDV, [...inputs, grads.dk, grads.dv], dkvGroups, params, c);
    return;
  }
  const partElements = r.batch * r.tk * r.hq * r.headDim;
  const dkPart = step.temp(partElements * 4, 'attention.dk_partial');
  const dvPart = step.temp(partElements * 4, 'attention.dv_partial');
  const part: TensorLayout = { offset: 0, rowStride: r.hq * r.headDim, batchStride: r.tk * r.hq * r.headDim };
  step.dispatch(BACKWARD_DKDV, [...inputs, dkPart, dvPart], dkvGroups, packAttentionParams(r, { ...layouts, dk: part, dv: part }), c);
  recordGroupSum(step, { dk: dkPart, dv: dvPart }, grads, r, layouts);
}
