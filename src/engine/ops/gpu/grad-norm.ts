import source from '../../../../shaders/grad_norm.wgsl?raw';
import { defineKernel, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import type { ClipSource } from './adamw';
import { sumChunkCount, sumChunks } from './reduce';

const WG = 256;
const FINALIZE = defineKernel('grad_norm.finalize', source, 'grad_norm_finalize', ['read', 'write', 'uniform']);

/** Layout of gradNorm's result: result[resultOffset + slot]. */
export const GRAD_NORM_SLOT = 0;
export const CLIP_COEF_SLOT = 1;

/** One gradient tensor: n f32 elements of `buffer` starting at element `offset`. */
export interface GradSegment {
  buffer: Binding;
  n: number;
  offset?: number;
}

export interface GradNormOptions {
  /** clip_grad_norm_'s max_norm; 0, null or undefined disables clipping (coefficient 1). */
  maxNorm?: number | null;
  resultOffset?: number;
}

/**
 * Global L2 norm over several gradient buffers and the clip coefficient, without leaving the GPU:
 *   result[resultOffset] = sqrt(sum over grads of sum(g^2))
 *   result[resultOffset + 1] = min(maxNorm / (norm + 1e-6), 1), or 1 when maxNorm is 0 / null
 * One sum-of-squares pass per segment writes its partials into consecutive slots of a scratch buffer
 * (segments in the given order), then one workgroup adds all slots. Deterministic. The gradients are
 * not modified: pass `clipSource(result)` to adamw, which scales them as it reads them.
 */
export function gradNorm(step: StepEncoder, result: Binding, grads: readonly GradSegment[], options: GradNormOptions = {}): void {
  if (grads.length === 0) throw new RangeError('gradNorm needs at least one gradient buffer');
  const maxNorm = options.maxNorm ?? 0;
  if (!(maxNorm >= 0) || !Number.isFinite(maxNorm)) throw new RangeError(`maxNorm must be >= 0, got ${maxNorm}`);
  const slots = grads.reduce((total, g) => total + sumChunkCount(g.n), 0);
  const partials = step.temp(slots * 4, 'grad_norm.partials');
  let slot = 0;
  for (const g of grads) {
    slot += sumChunks(step, partials, g.buffer, g.n, { square: true, inOffset: g.offset ?? 0, outOffset: slot });
  }
  const params = packParams([
    ['u32', slots],
    ['u32', options.resultOffset ?? 0],
    ['f32', maxNorm],
  ]);
  step.dispatch(FINALIZE, [partials, result], [1, 1, 1], params, { WG });
}

/** The clip coefficient gradNorm wrote into `result`, as adamw's clip source. */
export function clipSource(result: Binding, resultOffset = 0): ClipSource {
  return { buffer: result, index: resultOffset + CLIP_COEF_SLOT };
}
