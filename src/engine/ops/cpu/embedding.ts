// Embedding lookup: CPU references, and the CPU-side preparation the GPU kernels rely on (id validation and
// the gradient index). Ids come from the data loader, so they are known here before any dispatch.
// Shapes: ids (N), table (V, C), out (N, C); an optional second table (P, C) is added in the same pass
// (GPT-2's learned position embedding).

import type { Vec } from './types';

export type Ids = ArrayLike<number>;

/** Throws when an id is not an integer in [0, count): the GPU kernels cannot report bad ids, they clamp. */
export function checkIds(ids: Ids, count: number, what = 'token id'): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= count) {
      throw new RangeError(`${what} ${id} at position ${i} is outside [0, ${count})`);
    }
  }
}

/** Position ids of `rows` tokens laid out as sequences of `seqLen`: t = start + i mod seqLen. */
export function sequencePositionIds(rows: number, seqLen: number, start = 0): Uint32Array {
  const out = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) out[i] = start + (i % seqLen);
  return out;
}

/** out[i, :] = table[ids[i], :] (+ posTable[positions[i], :]); C channels. Ids must be in range. */
export function embeddingForward(out: Vec, ids: Ids, table: Vec, C: number, posTable?: Vec, positions?: Ids): void {
  if ((posTable === undefined) !== (positions === undefined)) {
    throw new Error('embeddingForward: posTable and positions go together');
  }
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i] * C;
    const prow = positions ? positions[i] * C : 0;
    for (let c = 0; c < C; c++) {
      out[i * C + c] = posTable ? table[row + c] + posTable[prow + c] : table[row + c];
    }
  }
}

/** dtable[ids[i], :] += dout[i, :], in increasing i. Also the position-table gradient with position ids. */
export function embeddingBackward(dtable: Vec, dout: Vec, ids: Ids, C: number): void {
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i] * C;
    for (let c = 0; c < C; c++) dtable[row + c] += dout[i * C + c];
  }
}

/**
 * Which lookups touched which table row, grouped by row (CSR): rows[u] is the u-th distinct id (ascending),
 * and positions[offsets[u] .. offsets[u + 1]) are the i with ids[i] == rows[u], in increasing i. The GPU
 * backward sums each row's gradients in exactly this order: deterministic, and without atomics.
 */
export interface EmbeddingGradIndex {
  rows: Uint32Array;
  offsets: Uint32Array;
  positions: Uint32Array;
}

export function buildEmbeddingGradIndex(ids: Int32Array | Uint32Array): EmbeddingGradIndex {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0) throw new RangeError(`id ${ids[i]} at position ${i} is negative`);
  }
  const rows = Uint32Array.from(new Set(ids)).sort();
  const slot = new Map<number, number>();
  rows.forEach((id, u) => slot.set(id, u));
  const offsets = new Uint32Array(rows.length + 1);
  for (let i = 0; i < ids.length; i++) offsets[slot.get(ids[i])! + 1]++;
  for (let u = 0; u < rows.length; u++) offsets[u + 1] += offsets[u];
  // Scatter in increasing i, so each row's positions stay in order (a stable counting sort).
  const next = offsets.slice(0, rows.length);
  const positions = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) positions[next[slot.get(ids[i])!]++] = i;
  return { rows, offsets, positions };
}

/** The index as one u32 array for one upload: [rows (U) | offsets (U + 1) | positions (N)]. */
export function packEmbeddingGradIndex(index: EmbeddingGradIndex): Uint32Array {
  const { rows, offsets, positions } = index;
  const out = new Uint32Array(rows.length + offsets.length + positions.length);
  out.set(rows, 0);
  out.set(offsets, rows.length);
  out.set(positions, rows.length + offsets.length);
  return out;
}
