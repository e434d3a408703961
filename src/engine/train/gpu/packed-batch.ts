// A TrainBatch laid out for the GPU forward: the rows of every sequence concatenated (N = sum of lengths, no
// padding), each row's token id, position (restarting at 0 per sequence) and label, and the attention calls:
// consecutive sequences of equal length share one call (batch = their count, contiguous in every buffer),
// each call with its own (batch, Hq, T) block of attention logsumexps at a 256-byte-aligned offset, so the
// backward can bind it as a sub-range. All of this is CPU work proportional to N, once per micro-batch.

import type { ModelConfig } from '../../model/config';
import { IGNORE_INDEX, type TrainBatch } from '../train-batch';

/** Consecutive sequences of one length, attended in one call. */
export interface AttentionGroup {
  /** First row of the first sequence. */
  firstRow: number;
  sequences: number;
  /** T of each of them. */
  length: number;
  /** Element offset of the group's (sequences, Hq, T) logsumexps; a multiple of 64 (256 bytes). */
  lseOffset: number;
}

export interface PackedBatch {
  /** N */
  rows: number;
  /** (N) token ids. */
  ids: Uint32Array;
  /** (N) position of each row within its sequence. */
  positions: Int32Array;
  /** (N) target of each row, or IGNORE_INDEX. */
  labels: Int32Array;
  /** First row of each sequence. */
  starts: number[];
  groups: AttentionGroup[];
  /** Elements of the logsumexp buffer, padding included. */
  lseElements: number;
  trainedTokens: number;
}

const LSE_ALIGN = 64;

/** Validates the batch against the model and packs it; errors name the sequence and position. */
export function packBatch(batch: TrainBatch, config: ModelConfig): PackedBatch {
  const { vocabSize: V, maxPositions, numHeads: Hq } = config;
  if (batch.sequences.length === 0) throw new RangeError('the batch has no sequences');
  let N = 0;
  batch.sequences.forEach((s, i) => {
    const T = s.inputIds.length;
    if (T < 1) throw new RangeError(`batch sequence ${i} is empty`);
    if (s.labels.length !== T) throw new RangeError(`batch sequence ${i} has ${T} input ids but ${s.labels.length} labels`);
    if (T > maxPositions) throw new RangeError(`batch sequence ${i} has ${T} tokens, the model holds ${maxPositions} positions`);
    N += T;
  });
  const ids = new Uint32Array(N);
  const positions = new Int32Array(N);
  const labels = new Int32Array(N);
  const starts: number[] = [];
  let trainedTokens = 0;
  let row = 0;
  batch.sequences.forEach((s, i) => {
    starts.push(row);
    for (let t = 0; t < s.inputIds.length; t++, row++) {
      const id = s.inputIds[t];
      if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new RangeError(`batch sequence ${i}, position ${t}: token id ${id} is outside the vocabulary of ${V}`);
      const label = s.labels[t];
      if (label !== IGNORE_INDEX && !(Number.isInteger(label) && label >= 0 && label < V)) {
        throw new RangeError(`batch sequence ${i}, position ${t}: label ${label} is neither ${IGNORE_INDEX} nor a token id below ${V}`);
      }
      if (label !== IGNORE_INDEX) trainedTokens++;
      ids[row] = id;
      positions[row] = t;
      labels[row] = label;
    }
  });

  const groups: AttentionGroup[] = [];
  let lseElements = 0;
  batch.sequences.forEach((s, i) => {
    const T = s.inputIds.length;
    const last = groups[groups.length - 1];
    if (last && last.length === T) {
      last.sequences++;
      lseElements += Hq * T;
      return;
    }
    const lseOffset = Math.ceil(lseElements / LSE_ALIGN) * LSE_ALIGN;
    groups.push({ firstRow: starts[i], sequences: 1, length: T, lseOffset });
    lseElements = lseOffset + Hq * T;
  });
  return { rows: N, ids, positions, labels, starts, groups, lseElements, trainedTokens };
}
