// Dispatcher of shaders/preference_grad.wgsl: the DPO / SimPO / ORPO gradient of every row's loss, from the
// row losses the LM head's forward wrote, in one single-workgroup dispatch. The caller lays out the rows
// (sequence index, answer and label bits per row; each sequence's first row and length).

import source from '../../../../shaders/preference_grad.wgsl?raw';
import { defineKernel, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';

const WG = 256;
const KERNEL = defineKernel('preference_grad', source, 'main', ['read', 'read', 'read', 'read', 'read', 'write', 'write', 'uniform']);

/** Bits of a row's rowInfo word beside its sequence index (bits 0..29). */
export const ROW_RESPONSE_BIT = 0x40000000;
export const ROW_LABELLED_BIT = 0x80000000;
export const MAX_PREFERENCE_SEQUENCES = 0x3fffffff;

/** Bytes per sequence of the kernel's scratch (one vec4 of f32). */
export const PREFERENCE_SUMS_BYTES_PER_SEQUENCE = 16;

/** The pair loss the kernel differentiates (see shaders/preference_grad.wgsl). */
export type PreferenceGradMode = 'dpo-sigmoid' | 'dpo-robust' | 'dpo-hinge' | 'dpo-ipo' | 'simpo' | 'orpo';
const MODE_INDEX: Record<PreferenceGradMode, number> = { 'dpo-sigmoid': 0, 'dpo-robust': 1, 'dpo-hinge': 2, 'dpo-ipo': 3, simpo: 4, orpo: 5 };

export interface PreferenceGradIo {
  /** (N) f32 policy row losses (-log p of each label, 0 where unlabelled). */
  rowLoss: Binding;
  /** The reference: (N) row losses computed in the step, (S) precomputed summed log-probs, or none. */
  reference: { rows: Binding } | { sums: Binding } | null;
  /** (N) u32 rowInfo words and (S, 2) u32 (first row, rows) per sequence. */
  rowInfo: Binding;
  seqRows: Binding;
  /** Scratch: S * PREFERENCE_SUMS_BYTES_PER_SEQUENCE bytes. */
  sums: Binding;
  /** Out: (N) f32 d loss / d row loss. */
  rowGrad: Binding;
}

export interface PreferenceGradParams {
  mode: PreferenceGradMode;
  beta: number;
  labelSmoothing: number;
  /** SimPO's gamma. */
  gamma: number;
  /** ORPO's lambda. */
  lambda: number;
  /** Pairs of the whole optimizer step (the pair terms are averaged over them). */
  stepPairs: number;
  /** ORPO: labelled tokens of the step's chosen sequences (its NLL's denominator); else unused. */
  chosenTokens: number;
}

export function preferenceGrad(step: StepEncoder, io: PreferenceGradIo, dims: { rows: number; sequences: number }, p: PreferenceGradParams): void {
  const { rows, sequences } = dims;
  if (sequences < 2 || sequences % 2 !== 0) throw new RangeError(`preferenceGrad: ${sequences} sequences do not make pairs`);
  if (sequences > MAX_PREFERENCE_SEQUENCES) throw new RangeError(`preferenceGrad: ${sequences} sequences are more than the kernel indexes`);
  if (!(p.stepPairs >= sequences / 2)) throw new RangeError(`preferenceGrad: the step's ${p.stepPairs} pairs are fewer than this micro-batch's ${sequences / 2}`);
  const ref = io.reference;
  const refMode = ref === null ? 0 : 'sums' in ref ? 1 : 2;
  if (p.mode.startsWith('dpo') && refMode === 0) throw new Error('preferenceGrad: DPO needs the reference log-probabilities');
  // Unused reference bindings take a buffer the kernel never reads in that mode.
  const refRows = ref && 'rows' in ref ? ref.rows : io.rowLoss;
  const refSums = ref && 'sums' in ref ? ref.sums : io.rowLoss;
  const params = packParams([
    ['u32', rows],
    ['u32', sequences],
    ['u32', MODE_INDEX[p.mode]],
    ['u32', refMode],
    ['f32', p.beta],
    ['f32', p.labelSmoothing],
    ['f32', p.gamma],
    ['f32', p.lambda],
    ['f32', 1 / p.stepPairs],
    ['f32', p.mode === 'orpo' ? 1 / Math.max(1, p.chosenTokens) : 0],
  ]);
  step.dispatch(KERNEL, [io.rowLoss, refRows, refSums, io.rowInfo, io.seqRows, io.sums, io.rowGrad], [1, 1, 1], params, { WG });
}
