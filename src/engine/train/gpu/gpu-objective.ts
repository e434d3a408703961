// An objective's gradient rule (objective.ts, GpuGradientRule) on the GPU: what the LM head's backward scales
// each row's softmax - onehot by. 'constant' is one scale for every labelled row (SFT); 'preference' runs
// shaders/preference_grad.wgsl on the row losses of the step's forward (and of the reference's) and gives
// a per-row scale buffer; 'grpo' runs shaders/grpo_grad.wgsl on the row losses and the rows' GRPO terms
// (token weight, advantage, old and reference log p) the objective laid out. Also lays a micro-batch's rows
// out as the preference kernel reads them.

import type { StepEncoder } from '../../gpu/step-encoder';
import { GRPO_TERMS_BYTES_PER_ROW, grpoGrad } from '../../ops/gpu/grpo-grad';
import {
  PREFERENCE_SUMS_BYTES_PER_SEQUENCE,
  preferenceGrad,
  ROW_LABELLED_BIT,
  ROW_RESPONSE_BIT,
  type PreferenceGradMode,
} from '../../ops/gpu/preference-grad';
import type { GpuGradientRule, GrpoGradientRule } from '../objective';
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
  if (rule.kind === 'grpo') return recordGrpoScaling(step, rule, batch, rowLoss);
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

/** GRPO: the rule's (N, 4) terms uploaded, then one elementwise dispatch to per-row gradients. */
function recordGrpoScaling(step: StepEncoder, rule: GrpoGradientRule, batch: TrainBatch, rowLoss: GPUBuffer): RowScaling {
  const rows = batch.sequences.reduce((n, s) => n + s.inputIds.length, 0);
  if (rule.rows.length !== 4 * rows) throw new RangeError(`GRPO gradient rule: ${rule.rows.length / 4} rows of terms for a micro-batch of ${rows} packed rows`);
  const terms = step.temp(rows * GRPO_TERMS_BYTES_PER_ROW, 'grpo row terms');
  step.ctx.write(terms, rule.rows);
  const rowScale = step.temp(rows * 4, 'grpo row gradients');
  grpoGrad(step, { rowLoss, terms, rowGrad: rowScale }, rows, rule);
  return { rowScale };
}
