// What one optimizer (micro-)step trains on: whole sequences, packed without padding. Labels follow Hugging
// Face's convention after the shift: labels[t] is the token position t must predict (input t + 1), or
// IGNORE_INDEX where that token is not trained (prompt, user turns, the last position).

export const IGNORE_INDEX = -100;

export interface TrainSequence {
  /** (T) token ids. */
  inputIds: Int32Array;
  /** (T) target of each position, or IGNORE_INDEX. */
  labels: Int32Array;
}

/** Sequences trained together; the loss is the mean over all their trained tokens (see lossDenominator). */
export interface TrainBatch {
  sequences: TrainSequence[];
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

export function trainedTokens(batch: TrainBatch): number {
  let n = 0;
  for (const s of batch.sequences) for (const l of s.labels) if (l !== IGNORE_INDEX) n++;
  return n;
}

export function batchTokens(batch: TrainBatch): number {
  return batch.sequences.reduce((n, s) => n + s.inputIds.length, 0);
}

/** Gradients of the LoRA parameters, aligned with LoraAdapter.modules: (r, in) for A, (out, r) for B. */
export interface LoraGrads<T extends Float32Array | Float64Array = Float64Array> {
  a: T;
  b: T;
}
