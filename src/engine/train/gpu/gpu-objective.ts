// An objective's gradient rule (objective.ts, GpuGradientRule) on the GPU: what the LM head's backward scales
// each row's softmax - onehot by. 'constant' is one scale for every labelled row (SFT); 'preference' runs
// shaders/preference_grad.wgsl on the row losses of the step's forward (and of the reference's) and gives
// a per-row scale buffer. Also lays a micro-batch's rows out as that kernel reads them.

import type { StepEncoder } from '../../gpu/step-encoder';
import {
  PREFERENCE_SUMS_BYTES_PER_SEQUENCE,
  preferenceGrad,
  ROW_LABELLED_BIT,
  ROW_RESPONSE_BIT,
  type PreferenceGradMode,
} from '../../ops/gpu/preference-grad';
import type { GpuGradientRule } from '../objective';
import type { PreferenceConfig } from '../objectives/preference-config';
import { IGNORE_INDEX, type TrainBatch } from '../train-batch';

/** What the cross-entropy backward takes: one scale, or a per-row scale buffer. */
export type RowScaling = { gradScale: number } | { rowScale: GPUBuffer };

/** The reference's log-probabilities on the GPU: row losses from this step, precomputed sums, or none. */
export type GpuReference = { rows: GPUBuffer } | { sums: GPUBuffer } | null;

/** Per row: sequence index | answer bit | labelled bit; per sequence: (first row, rows). */
export function preferenceRows(batch: TrainBatch): { rowInfo: Uint32Array; seqRows: Uint32Array } {
  const N = batch.sequences.reduce((n, s) => n + s.inputIds.length, 0);
  const rowInfo = new Uint32Array(N);
  const seqRows = new Uint32Array(2 * batch.sequences.length);
  let row = 0;
  batch.sequences.forEach((s, i) => {
    seqRows[2 * i] = row;
    seqRows[2 * i + 1] = s.inputIds.length;
    for (let t = 0; t < s.inputIds.length; t++, row++) {
      const labelled = s.labels[t] !== IGNORE_INDEX;
      const answer = labelled && (!s.response || s.response[t] === 1);
      rowInfo[row] = (i | (answer ? ROW_RESPONSE_BIT : 0) | (labelled ? ROW_LABELLED_BIT : 0)) >>> 0;
    }
  });
  return { rowInfo, seqRows };
}

export function preferenceGradMode(c: PreferenceConfig): PreferenceGradMode {
  return c.method === 'dpo' ? `dpo-${c.lossType}` : c.method;
}

/**
 * Records the rule's per-row gradient for a micro-batch whose forward wrote `rowLoss` (N). Returns what the
 * LM head's backward scales by.
 */
export function recordRowScaling(step: StepEncoder, rule: GpuGradientRule, batch: TrainBatch, rowLoss: GPUBuffer, reference: GpuReference): RowScaling {
  if (rule.kind === 'constant') return { gradScale: rule.scale };
  if (rule.kind === 'grpo') throw new Error('GRPO on the GPU: the row-gradient kernel is being wired (issue 11)');
  const { rowInfo, seqRows } = preferenceRows(batch);
  const rows = rowInfo.length;
  const info = step.temp(rows * 4, 'preference row info');
  const ranges = step.temp(seqRows.byteLength, 'preference sequence rows');
  step.ctx.write(info, rowInfo);
  step.ctx.write(ranges, seqRows);
  const sums = step.temp(batch.sequences.length * PREFERENCE_SUMS_BYTES_PER_SEQUENCE, 'preference sums');
  const rowScale = step.temp(rows * 4, 'preference row gradients');
  const c = rule.config;
  preferenceGrad(step, { rowLoss, reference, rowInfo: info, seqRows: ranges, sums, rowGrad: rowScale }, { rows, sequences: batch.sequences.length }, {
    mode: preferenceGradMode(c),
    beta: c.beta,
    labelSmoothing: c.labelSmoothing,
    gamma: c.simpoGamma,
    lambda: c.orpoLambda,
    stepPairs: rule.pairs,
    chosenTokens: rule.chosenTokens,
  });
  return { rowScale };
}
