// Dispatchers for the embedding lookup (token table, optionally plus a position table in the same pass)
// and its deterministic, atomic-free backward. Ids live on the CPU first: validate them with checkIds
// before upload (the kernel clamps out-of-range ids, it cannot report them), and build the backward's
// index with buildEmbeddingGradIndex (both in ../cpu/embedding).

import forwardSource from '../../../../shaders/embedding.wgsl?raw';
import backwardSource from '../../../../shaders/embedding_backward.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { ceilDiv, defineKernel, grid1d, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import { packEmbeddingGradIndex, type EmbeddingGradIndex } from '../cpu/embedding';

const WG = 256;
const U32_LIMIT = 2 ** 32;

const FORWARD = defineKernel('embedding.forward', forwardSource, 'embedding_forward', ['read', 'read', 'read', 'read', 'write', 'uniform']);
const BACKWARD = defineKernel('embedding.backward', backwardSource, 'embedding_backward', ['read', 'read', 'write', 'uniform']);

/** 'f16' = f16 packed two per u32, element 2k in the low half (see gpu/f16.ts packF16); any C, odd too. */
export type TableFormat = 'f32' | 'f16';

export interface EmbeddingDims {
  /** N: lookups (B * T). */
  rows: number;
  /** C: channels per table row. */
  channels: number;
  /** V: rows in the table (with options.firstRow: in this part); ids >= V are clamped to V - 1. */
  vocab: number;
}

/** A second table (P, C) added to every looked-up row: GPT-2's learned position embedding. */
export interface PositionEmbedding {
  table: Binding;
  /** P: rows in the position table; positions >= P are clamped to P - 1. */
  count: number;
  format?: TableFormat;
  /** Row i gets position start + i mod seqLen (batches of whole sequences) ... */
  seqLen?: number;
  start?: number;
  /** ... or explicit u32 positions (N), which take precedence (packed or shifted sequences). */
  ids?: Binding;
}

export interface EmbeddingOptions {
  /** Format of the token table (default 'f32'). */
  format?: TableFormat;
  positions?: PositionEmbedding;
  /**
   * The table binding is rows [firstRow, firstRow + vocab) of a larger table split by rows (one binding
   * cannot hold it). Rows whose id falls outside are left untouched instead of clamped, so one call per
   * part, with the same ids and out, writes every row exactly once.
   */
  firstRow?: number;
}

function assertCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min || value >= U32_LIMIT) {
    throw new RangeError(`embedding: ${name} must be an integer in [${min}, 2^32), got ${value}`);
  }
}

/** out (N, C) f32 = table[ids] (+ position table rows). ids (N) are u32 or i32 bits, validated on the CPU. */
export function embedding(step: StepEncoder, out: Binding, ids: Binding, table: Binding, dims: EmbeddingDims, options: EmbeddingOptions = {}): void {
  const { rows, channels, vocab } = dims;
  assertCount('rows', rows, 0);
  assertCount('channels', channels, 1);
  assertCount('vocab', vocab, 1);
  assertCount('rows * channels', rows * channels, 0);
  assertCount('vocab * channels', vocab * channels, 1);
  const pos = options.positions;
  let posMode = 0;
  if (pos) {
    assertCount('positions.count', pos.count, 1);
    assertCount('positions.count * channels', pos.count * channels, 1);
    if (pos.ids) posMode = 2;
    else if (pos.seqLen !== undefined) {
      assertCount('positions.seqLen', pos.seqLen, 1);
      assertCount('positions.start', pos.start ?? 0, 0);
      posMode = 1;
    } else throw new Error('embedding: positions need either ids or seqLen');
  }
  if (options.firstRow !== undefined) assertCount('firstRow', options.firstRow, 0);
  const params = packParams([
    ['u32', rows * channels],
    ['u32', channels],
    ['u32', vocab],
    ['u32', pos?.count ?? 1],
    ['u32', pos?.seqLen ?? 1],
    ['u32', pos?.start ?? 0],
    ['u32', options.firstRow ?? 0],
  ]);
  // Without positions the position bindings are unused by the pipeline; ids and table fill them.
  const bindings = [ids, table, pos?.ids ?? ids, pos?.table ?? table, out];
  step.dispatch(FORWARD, bindings, grid1d(ceilDiv(rows * channels, WG)), params, {
    WG,
    TABLE_F16: options.format === 'f16' ? 1 : 0,
    POS_F16: pos?.format === 'f16' ? 1 : 0,
    POS_MODE: posMode,
    ROW_RANGE: options.firstRow === undefined ? 0 : 1,
  });
}

/** The backward's index on the GPU: one packed u32 buffer plus the sizes the dispatch needs. */
export interface EmbeddingGradIndexBuffer {
  buffer: Binding;
  /** U: distinct ids. */
  uniqueRows: number;
  /** N: lookups. */
  count: number;
}

/** Uploads an index from buildEmbeddingGradIndex. The caller destroys `buffer` when done. */
export function uploadEmbeddingGradIndex(ctx: GpuContext, index: EmbeddingGradIndex, label = 'embedding grad index'): EmbeddingGradIndexBuffer & { buffer: GPUBuffer } {
  return { buffer: ctx.upload(packEmbeddingGradIndex(index), label), uniqueRows: index.rows.length, count: index.positions.length };
}

/**
 * dtable (V, C) f32 += for each row v the sum over i with ids[i] == v of dout[i, :] (N, C), in increasing i.
 * Always accumulates; only rows that occur are written (clear dtable first for a fresh gradient). For
 * GPT-2's position table pass the index of the position ids (sequencePositionIds) and its gradient.
 */
export function embeddingBackward(
  step: StepEncoder,
  dtable: Binding,
  dout: Binding,
  index: EmbeddingGradIndexBuffer,
  dims: { channels: number; vocab: number },
): void {
  const { channels, vocab } = dims;
  const { uniqueRows, count } = index;
  assertCount('channels', channels, 1);
  assertCount('vocab', vocab, 1);
  assertCount('index.uniqueRows', uniqueRows, 0);
  assertCount('index.count', count, uniqueRows === 0 ? 0 : 1);
  assertCount('vocab * channels', vocab * channels, 1);
  assertCount('count * channels', count * channels, 0);
  if (uniqueRows > count) throw new RangeError(`embedding: ${uniqueRows} distinct ids among ${count} lookups`);
  const params = packParams([
    ['u32', uniqueRows * channels],
    ['u32', channels],
    ['u32', uniqueRows],
    ['u32', count],
    ['u32', vocab],
  ]);
  step.dispatch(BACKWARD, [index.buffer, dout, dtable], grid1d(ceilDiv(uniqueRows * channels, WG)), params, { WG });
}
