// What one optimizer (micro-)step trains on: whole sequences, packed without padding. Labels follow Hugging
// Face's convention after the shift: labels[t] is the token position t must predict (input t + 1), or
// IGNORE_INDEX where no term of the loss reads that token (prompt, user turns, the last position). The
// objective (objective.ts) decides how the labelled tokens' log-probabilities make the loss.

export const IGNORE_INDEX = -100;

export interface TrainSequence {
  /** (T) token ids. */
  inputIds: Int32Array;
  /** (T) target of each position, or IGNORE_INDEX. */
  labels: Int32Array;
  /**
   * (T) 1 where labels[t] is a token of the answer the objective scores (a preference pair's chosen or
   * rejected completion), 0 elsewhere; absent: every labelled token is (SFT).
   */
  response?: Uint8Array;
  /** GRPO: the sampled completion's advantage and the log-probabilities its loss compares against. */
  rollout?: RolloutTerms;
}

/** What a GRPO sequence's loss reads besides the policy's log-probabilities (grpo/grpo-objective.ts). */
export interface RolloutTerms {
  /** The completion's group-relative advantage. */
  advantage: number;
  /** (T) log p(labels[t]) under the policy that sampled the completion; absent: the current policy's (ratio 1). */
  oldLogps?: Float64Array;
  /** (T) log p(labels[t]) under the frozen reference (beta > 0). */
  refLogps?: Float64Array;
}

/** Sequences trained together in one micro-batch. */
export interface TrainBatch {
  sequences: TrainSequence[];
  /**
   * Per sequence, the frozen reference's log-probability of its answer summed over the response tokens,
   * when computed once before training (DPO's precompute option); absent: computed in the step, or none.
   */
  reference?: Float64Array;
}

/**
 * Labels from token ids and a per-token train mask (mask[t] = 1: token t is a training target, as in TRL's
 * completion_mask): labels[t] = ids[t + 1] when mask[t + 1] = 1, else IGNORE_INDEX; the last position
 * predicts nothing.
 */
export function shiftedLabels(inputIds: ArrayLike<number>, trainMask?: ArrayLike<number>): Int32Array {
  const T = inputIds.length;
  const labels = new Int32Array(T).fill(IGNORE_INDEX);
  for (let t = 0; t + 1 < T; t++) if (!trainMask || trainMask[t + 1]) labels[t] = inputIds[t + 1];
  return labels;
}

/** Whether position t's label is a response token the pair's loss reads. */
export function isResponse(s: TrainSequence, t: number): boolean {
  return s.labels[t] !== IGNORE_INDEX && (!s.response || s.response[t] === 1);
}

/** Summed log-probability and count of a sequence's response tokens. */
export function responseSum(s: TrainSequence, logps: Float64Array): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let t = 0; t < s.labels.length; t++) {
    if (!isResponse(s, t)) continue;
    sum += logps[t];
    count++;
  }
  return { sum, count };
}

export function responseCount(s: TrainSequence): number {
  let n = 0;
  for (let t = 0; t < s.labels.length; t++) if (isResponse(s, t)) n++;
  return n;
}

/** Positions of a sequence whose label a loss term reads. */
export function labelledCount(s: TrainSequence): number {
  let n = 0;
  for (const l of s.labels) if (l !== IGNORE_INDEX) n++;
  return n;
}

export function trainedTokens(batch: TrainBatch): number {
  return batch.sequences.reduce((n, s) => n + labelledCount(s), 0);
}

export function batchTokens(batch: TrainBatch): number {
  return batch.sequences.reduce((n, s) => n + s.inputIds.length, 0);
}

/** Gradients of the LoRA parameters, aligned with LoraAdapter.modules: (r, in) for A, (out, r) for B. */
export interface LoraGrads<T extends Float32Array | Float64Array = Float64Array> {
  a: T;
  b: T;
}
