// Dispatchers for the cross-entropy kernels that work on one vocabulary chunk of the logits at a time.
// Buffer layouts (N rows, chunk of Vc columns starting at vocabulary index v0):
//   logits chunk (N, Vc) f32; targets (N) i32, negative = ignored (-100 by convention);
//   state (N, 4) f32 running statistics; lse (N, 2) f32 = (row max, log sum exp(x - max));
//   rowLoss (N) f32; result (4) f32 = [mean loss, sum of row losses, trained rows, 1 / trained rows].

import statsSource from '../../../../shaders/cross_entropy_stats.wgsl?raw';
import finalizeSource from '../../../../shaders/cross_entropy_finalize.wgsl?raw';
import backwardSource from '../../../../shaders/cross_entropy_backward.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';

/** Invocations per workgroup (a power of two; 256 is every adapter's guaranteed maximum). */
const WG = 256;

/** Short chunks leave most of a wide workgroup idle while it still pays every reduction barrier. */
function statsWorkgroupSize(cols: number): number {
  return cols >= 2048 ? 256 : 64;
}

/** Bytes per row of each per-row buffer, for callers that allocate them. */
export const CE_STATE_BYTES_PER_ROW = 16;
export const CE_LSE_BYTES_PER_ROW = 8;
export const CE_RESULT_BYTES = 16;

const STATS = defineKernel('cross_entropy.stats', statsSource, 'accumulate', ['read', 'read', 'write', 'uniform']);
const FINALIZE = defineKernel('cross_entropy.finalize', finalizeSource, 'finalize', [
  'read',
  'read',
  'write',
  'write',
  'write',
  'uniform',
]);
const BACKWARD = defineKernel('cross_entropy.backward', backwardSource, 'backward', [
  'read',
  'read',
  'read',
  'read',
  'write',
  'uniform',
]);

/**
 * Folds the logits chunk (rows, cols), vocabulary columns [v0, v0 + cols), into `state` (rows, 4).
 * `first` starts the state afresh: pass true for the first chunk, false for the rest. The statistics are
 * those of logits * logitScale (1 / the logit temperature; default 1).
 */
export function crossEntropyChunkStats(
  step: StepEncoder,
  state: Binding,
  logits: Binding,
  targets: Binding,
  rows: number,
  cols: number,
  v0: number,
  first: boolean,
  logitScale = 1,
): void {
  const params = packParams([
    ['u32', rows],
    ['u32', cols],
    ['u32', v0],
    ['u32', first ? 1 : 0],
    ['f32', logitScale],
  ]);
  step.dispatch(STATS, [logits, targets, state], grid1d(rows), params, { WG: statsWorkgroupSize(cols) });
}

/** Per-row lse (rows, 2) and rowLoss (rows), and result (4) with the mean over trained rows. */
export function crossEntropyFinalize(
  step: StepEncoder,
  result: Binding,
  lse: Binding,
  rowLoss: Binding,
  state: Binding,
  targets: Binding,
  rows: number,
): void {
  step.dispatch(FINALIZE, [state, targets, lse, rowLoss, result], [1, 1, 1], packParams([['u32', rows]]), { WG });
}

export interface CrossEntropyGradOptions {
  /**
   * Gradient of `gradScale * sum of row losses`. Default: 1 / trained rows, taken from `result` on the GPU
   * (the mean's gradient). Gradient accumulation passes 1 / (trained rows over all micro-batches).
   */
  gradScale?: number;
  /**
   * (N) f32: each row's own d loss / d row loss (an objective's gradient computed on the GPU), instead of
   * one scale for every row. gradScale is then ignored.
   */
  rowScale?: Binding;
  /** The logit scale the forward's statistics were taken at (crossEntropyChunkStats); default 1. */
  logitScale?: number;
}

/**
 * In place: turns the logits chunk (rows, cols), columns [v0, v0 + cols), into dlogits using the lse and
 * result that crossEntropyFinalize wrote.
 */
export function crossEntropyChunkBackward(
  step: StepEncoder,
  logitsToGrad: Binding,
  targets: Binding,
  lse: Binding,
  result: Binding,
  rows: number,
  cols: number,
  v0: number,
  options: CrossEntropyGradOptions = {},
): void {
  const count = rows * cols;
  const params = packParams([
    ['u32', count],
    ['u32', cols],
    ['u32', v0],
    ['f32', options.gradScale ?? 1],
    ['u32', options.gradScale === undefined ? 1 : 0],
    ['u32', options.rowScale ? 1 : 0],
    ['f32', options.logitScale ?? 1],
  ]);
  // Without row scales the binding is never read: any buffer fills it.
  const rowScale = options.rowScale ?? targets;
  step.dispatch(BACKWARD, [targets, lse, result, rowScale, logitsToGrad], grid1d(ceilDiv(count, WG)), params, { WG });
}
