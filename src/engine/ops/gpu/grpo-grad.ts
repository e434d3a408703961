// Dispatcher of shaders/grpo_grad.wgsl: GRPO's clipped-surrogate (+ k3 KL) gradient of every row's loss, from
// the row losses the LM head's forward wrote and the rows' GRPO terms, in one elementwise dispatch. The
// caller lays out the terms (GrpoObjective.gpuGradient: objective.ts, GrpoGradientRule).

import source from '../../../../shaders/grpo_grad.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';

const WG = 256;
const KERNEL = defineKernel('grpo_grad', source, 'main', ['read', 'read', 'write', 'uniform']);

/** Bytes per row of the terms buffer: (token weight, advantage, old log p, reference log p) f32. */
export const GRPO_TERMS_BYTES_PER_ROW = 16;

export interface GrpoGradIo {
  /** (N) f32 policy row losses (-log p of each label, 0 where unlabelled). */
  rowLoss: Binding;
  /** (N, 4) f32 per row: token weight (0: no loss token), advantage, old log p, reference log p. */
  terms: Binding;
  /** Out: (N) f32 d loss / d row loss. */
  rowGrad: Binding;
}

export interface GrpoGradParams {
  /** The old log p is the policy's own (num_iterations 1): the ratio is exactly 1 and terms' old is unread. */
  oldFromPolicy: boolean;
  /** TRL's epsilon (the ratio's lower clip is 1 - epsilonLow) and epsilon_high. */
  epsilonLow: number;
  epsilonHigh: number;
  /** KL coefficient; 0 leaves the reference column unread. */
  beta: number;
}

export function grpoGrad(step: StepEncoder, io: GrpoGradIo, rows: number, p: GrpoGradParams): void {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`grpoGrad: rows must be a non-negative integer, got ${rows}`);
  for (const [name, value] of [['epsilonLow', p.epsilonLow], ['epsilonHigh', p.epsilonHigh], ['beta', p.beta]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`grpoGrad: ${name} must be a finite number >= 0, got ${value}`);
  }
  const params = packParams([
    ['u32', rows],
    ['u32', p.oldFromPolicy ? 1 : 0],
    ['f32', p.epsilonLow],
    ['f32', p.epsilonHigh],
    ['f32', p.beta],
  ]);
  step.dispatch(KERNEL, [io.rowLoss, io.terms, io.rowGrad], grid1d(ceilDiv(rows, WG)), params, { WG });
}
