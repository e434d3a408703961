// The language-model loss through the LM head without materialising the (N, V) logits: the vocabulary is
// walked in chunks of Vc columns, each chunk's logits (N, Vc) computed by matmul into one scratch buffer and
// folded into per-row online softmax statistics. The backward recomputes each chunk's logits, turns them into
// dlogits in place, and accumulates dh (and optionally dW) by matmul. Everything is recorded into the caller's
// StepEncoder (one submit); scratch comes from step.temp.
//
// Shapes: hidden h (N, C) f32 with N = B * T; weight W (V, C) in PyTorch Linear layout, f32 or f16 packed two
// per u32; targets (N) i32, negative (-100) = not trained. Outputs: result (4 f32) = [mean loss over trained
// rows, sum of row losses, trained rows, 1 / trained rows]; lse (N, 2) f32 saved for the backward; optional
// rowLoss (N) f32 (per-token loss, for evaluation). With a logit scale s (1 / the logit temperature) the loss
// is that of the logits h W^T * s, scaled inside the cross-entropy kernels (s = 1: exactly the plain loss).

import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import {
  CE_STATE_BYTES_PER_ROW,
  crossEntropyChunkBackward,
  crossEntropyChunkStats,
  crossEntropyFinalize,
  type CrossEntropyGradOptions,
} from './cross-entropy';
import { matmul, type MatrixFormat } from './matmul';

/** Default bytes for one (N, Vc) logits chunk, and for one (Vc, C) slice of W or dW: under every binding limit. */
export const DEFAULT_CHUNK_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * Default chunks are a multiple of this many columns, so every chunk of W (f32 or f16) and dW starts at a
 * 256-byte-aligned offset and can be bound as its own sub-range: the whole head (e.g. 151936 x 896 f16 =
 * 272 MB) need not fit one storage binding.
 */
const CHUNK_ALIGN_COLUMNS = 128;
const BINDING_OFFSET_ALIGN = 256;

export interface LmHeadDims {
  /** N = B * T */
  rows: number;
  /** C, the model width */
  channels: number;
  /** V, the vocabulary */
  vocab: number;
}

export interface LmHeadLossOptions {
  /** Storage of W: 'f32' (default) or 'f16' packed two per u32. */
  weightFormat?: MatrixFormat;
  /** Columns per vocabulary chunk; default from budgetBytes via vocabChunkColumns. */
  chunkColumns?: number;
  /** Byte budget for one chunk; default DEFAULT_CHUNK_BUDGET_BYTES. */
  budgetBytes?: number;
  /** Multiplies the logits before the softmax (1 / the logit temperature); default 1. */
  logitScale?: number;
}

export interface LmHeadBackwardOptions extends LmHeadLossOptions, CrossEntropyGradOptions {
  /** Add into dHidden / dWeight instead of overwriting them (gradient accumulation). Default false. */
  accumulate?: boolean;
  /**
   * lmHeadLoss only: called once the forward is recorded and before the backward, so an objective can record
   * its per-row gradient from the forward's row losses (e.g. shaders/preference_grad.wgsl); what it returns
   * replaces gradScale / rowScale.
   */
  afterForward?: () => CrossEntropyGradOptions;
}

export interface LmHeadForwardBuffers {
  hidden: Binding;
  weight: Binding;
  targets: Binding;
  /** out: 4 f32 */
  result: Binding;
  /** out: (N, 2) f32 */
  lse: Binding;
  /** out, optional: (N) f32 */
  rowLoss?: Binding;
}

export interface LmHeadGradBuffers {
  /** out: (N, C) f32 */
  dHidden: Binding;
  /** out, optional: (V, C) f32 (a trained or tied head) */
  dWeight?: Binding;
}

export type LmHeadBackwardBuffers = Omit<LmHeadForwardBuffers, 'rowLoss'> & LmHeadGradBuffers;

/** Columns per chunk so that an (N, Vc) logits chunk and a (Vc, C) f32 slice of W each fit budgetBytes. */
export function vocabChunkColumns(dims: LmHeadDims, budgetBytes = DEFAULT_CHUNK_BUDGET_BYTES): number {
  const bytesPerColumn = 4 * Math.max(dims.rows, dims.channels);
  const cols = Math.floor(budgetBytes / bytesPerColumn);
  if (cols >= dims.vocab) return dims.vocab;
  if (cols >= CHUNK_ALIGN_COLUMNS) return cols - (cols % CHUNK_ALIGN_COLUMNS);
  return Math.max(1, cols);
}

/** Loss forward: writes result, lse and (when given) rowLoss. */
export function lmHeadLossForward(
  step: StepEncoder,
  io: LmHeadForwardBuffers,
  dims: LmHeadDims,
  options: LmHeadLossOptions = {},
): void {
  const cols = chunkColumns(dims, options);
  forward(step, io, dims, cols, options, logitsScratch(step, dims, cols));
}

/** Loss backward from the forward's lse and result: writes (or accumulates into) dHidden and dWeight. */
export function lmHeadLossBackward(
  step: StepEncoder,
  io: LmHeadBackwardBuffers,
  dims: LmHeadDims,
  options: LmHeadBackwardOptions = {},
): void {
  const cols = chunkColumns(dims, options);
  backward(step, io, dims, cols, options, logitsScratch(step, dims, cols));
}

/** Forward then backward in one go, sharing one logits scratch buffer. */
export function lmHeadLoss(
  step: StepEncoder,
  io: LmHeadForwardBuffers & LmHeadGradBuffers,
  dims: LmHeadDims,
  options: LmHeadBackwardOptions = {},
): void {
  const cols = chunkColumns(dims, options);
  const scratch = logitsScratch(step, dims, cols);
  forward(step, io, dims, cols, options, scratch);
  const grad = options.afterForward ? { ...options, gradScale: undefined, rowScale: undefined, ...options.afterForward() } : options;
  backward(step, io, dims, cols, grad, scratch);
}

function chunkColumns(dims: LmHeadDims, options: LmHeadLossOptions): number {
  for (const [name, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`lmHeadLoss: ${name} must be a positive integer, got ${v}`);
    }
  }
  const cols = options.chunkColumns ?? vocabChunkColumns(dims, options.budgetBytes);
  if (!Number.isInteger(cols) || cols < 1) {
    throw new RangeError(`lmHeadLoss: chunkColumns must be a positive integer, got ${cols}`);
  }
  return Math.min(cols, dims.vocab);
}

function logitsScratch(step: StepEncoder, dims: LmHeadDims, cols: number): GPUBuffer {
  return step.temp(dims.rows * cols * 4, 'lm-head logits chunk');
}

function forEachChunk(vocab: number, cols: number, body: (v0: number, n: number) => void): void {
  for (let v0 = 0; v0 < vocab; v0 += cols) body(v0, Math.min(cols, vocab - v0));
}

function forward(
  step: StepEncoder,
  io: LmHeadForwardBuffers,
  dims: LmHeadDims,
  cols: number,
  options: LmHeadLossOptions,
  logits: GPUBuffer,
): void {
  const { rows, channels, vocab } = dims;
  const format = options.weightFormat ?? 'f32';
  const state = step.temp(rows * CE_STATE_BYTES_PER_ROW, 'cross-entropy state');
  const rowLoss = io.rowLoss ?? step.temp(rows * 4, 'cross-entropy row losses');
  forEachChunk(vocab, cols, (v0, n) => {
    chunkLogits(step, logits, io.hidden, matrixRows(io.weight, v0, n, channels, format), rows, channels, n, format);
    crossEntropyChunkStats(step, state, logits, io.targets, rows, n, v0, v0 === 0, options.logitScale);
  });
  crossEntropyFinalize(step, io.result, io.lse, rowLoss, state, io.targets, rows);
}

function backward(
  step: StepEncoder,
  io: LmHeadBackwardBuffers,
  dims: LmHeadDims,
  cols: number,
  options: LmHeadBackwardOptions,
  logits: GPUBuffer,
): void {
  const { rows, channels, vocab } = dims;
  const format = options.weightFormat ?? 'f32';
  const accumulate = options.accumulate ?? false;
  forEachChunk(vocab, cols, (v0, n) => {
    const w = matrixRows(io.weight, v0, n, channels, format);
    chunkLogits(step, logits, io.hidden, w, rows, channels, n, format);
    crossEntropyChunkBackward(step, logits, io.targets, io.lse, io.result, rows, n, v0, options);
    // dh (N, C) (+)= dlogits (N, n) @ W[v0 : v0 + n] (n, C); the first chunk overwrites unless accumulating.
    matmul(step, io.dHidden, logits, w.binding, { m: rows, k: n, n: channels, offsetB: w.offset }, {
      bFormat: format,
      accumulate: accumulate || v0 > 0,
    });
    if (io.dWeight) {
      // dW[v0 : v0 + n] (n, C) (+)= dlogits^T (n, N) @ h (N, C): each chunk owns its rows of dW.
      const dw = matrixRows(io.dWeight, v0, n, channels, 'f32');
      const dwDims = { m: n, k: rows, n: channels, transA: true, offsetC: dw.offset };
      matmul(step, dw.binding, logits, io.hidden, dwDims, { accumulate });
    }
  });
}

/** logits (N, n) = h (N, C) @ W_chunk (n, C)^T. */
function chunkLogits(
  step: StepEncoder,
  logits: GPUBuffer,
  hidden: Binding,
  w: { binding: Binding; offset: number },
  rows: number,
  channels: number,
  n: number,
  format: MatrixFormat,
): void {
  const dims = { m: rows, k: channels, n, transB: true, offsetB: w.offset };
  matmul(step, logits, hidden, w.binding, dims, { bFormat: format });
}

/**
 * Rows [first, first + count) of a (rows, channels) matrix: bound as their own sub-range when that range starts
 * at a bindable offset (element offset 0), else the whole binding with an element offset for matmul.
 */
function matrixRows(
  matrix: Binding,
  first: number,
  count: number,
  channels: number,
  format: MatrixFormat,
): { binding: Binding; offset: number } {
  const bytesPerElement = format === 'f16' ? 2 : 4;
  const firstElement = first * channels;
  const buffer = 'buffer' in matrix ? matrix.buffer : matrix;
  const base = 'buffer' in matrix ? (matrix.offset ?? 0) : 0;
  const start = base + firstElement * bytesPerElement;
  if (start % BINDING_OFFSET_ALIGN !== 0) return { binding: matrix, offset: firstElement };
  const end = 'buffer' in matrix && matrix.size !== undefined ? base + matrix.size : buffer.size;
  // Storage bindings are whole u32 words: an f16 slice with an odd element count takes its neighbour's half.
  const size = Math.min(Math.ceil((count * channels * bytesPerElement) / 4) * 4, end - start);
  return { binding: { buffer, offset: start, size }, offset: 0 };
}
