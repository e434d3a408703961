import source from '../../../../shaders/adamw.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import { adamwScalars, type AdamWHyper } from '../cpu/adamw';

export type { AdamWHyper } from '../cpu/adamw';

const WG = 256;
const ADAMW = defineKernel('adamw.step', source, 'adamw_step', ['write', 'read', 'write', 'write', 'read', 'uniform']);

/** Where the kernel finds the gradient clip coefficient: clip.buffer[clip.index] (f32). */
export interface ClipSource {
  buffer: Binding;
  index: number;
}

export interface AdamWOptions {
  /**
   * Element offset into param, grad, m and v (all four share the layout). With every parameter in one
   * arena buffer (and its grads, m, v in arenas of the same layout), a single call with offset 0 and n =
   * the arena length is a multi-tensor step: one dispatch for all of them.
   */
  offset?: number;
  /** Scale the gradient by this coefficient when it is below 1 (e.g. gradNorm's clip slot). */
  clip?: ClipSource;
}

/**
 * One torch.optim.AdamW step t (t = 1, 2, ...) over n elements with this step's hyperparameters (lr may
 * change every step). Updates param, m and v in place; grad is only read. The bias corrections and other
 * scalars are computed here in float64 and passed as f32, as torch's non-capturable path does with
 * Python floats: the step count lives on the host anyway, and it keeps pow() out of the kernel.
 */
export function adamw(
  step: StepEncoder,
  param: Binding,
  grad: Binding,
  m: Binding,
  v: Binding,
  n: number,
  hyper: AdamWHyper,
  t: number,
  options: AdamWOptions = {},
): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`adamw: n must be an integer >= 1, got ${n}`);
  const s = adamwScalars(hyper, t);
  const clip = options.clip;
  const params = packParams([
    ['u32', n],
    ['u32', options.offset ?? 0],
    ['u32', clip?.index ?? 0],
    ['f32', s.decay],
    ['f32', s.lerpWeight],
    ['f32', s.beta2],
    ['f32', s.oneMinusBeta2],
    ['f32', s.negStepSize],
    ['f32', s.biasCorrection2Sqrt],
    ['f32', s.eps],
  ]);
  // Without clipping the kernel never reads binding 4; grad (read-only) fills it.
  const bindings = [param, grad, m, v, clip?.buffer ?? grad];
  step.dispatch(ADAMW, bindings, grid1d(ceilDiv(n, WG)), params, { WG, CLIP: clip ? 1 : 0 });
}
