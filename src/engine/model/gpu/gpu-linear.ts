// Linear layers and the LM head over weights that may be split by rows into parts (gpu-weights.ts).

import type { Binding, Readback, StepEncoder } from '../../gpu/step-encoder';
import { matmul } from '../../ops/gpu/matmul';
import type { GpuMatrix } from './gpu-weights';

/** The matmul's batch dimension is one grid axis. */
const MAX_BATCH = 65535;

/** Columns [column, column + width) of a row-major (N, ld) buffer: one projection's share of a fused output. */
export interface Columns {
  column: number;
  ld: number;
}

export interface LinearOptions {
  /** y += x W^T (+ b): a residual add in place. */
  accumulate?: boolean;
  /** y = residual + x W^T, residual (N, out) laid out like y: a residual add into a buffer of its own. Not with a bias. */
  residual?: Binding;
  /** y is the columns [column, column + out) of an (N, ld) buffer. */
  cols?: Columns;
}

/**
 * y (N, out) = x (N, in) @ W^T (+ b), or y += that with `accumulate`, or y = residual + that (the residual
 * adds, fused); with `cols` y is the columns [column, column + out) of an (N, ld) buffer (q's share of a
 * fused q, k, v projection).
 * One part: a single (N, in) @ (out, in)^T product. Several parts: each writes its own columns of y, one
 * row per batch item (m = 1, W broadcast, output stride ld), since the output is row-major and a
 * part's columns are not contiguous. That reads a part once per row: fine for decode (N = 1) and never
 * taken with the device's real limit for the supported model sizes, where no linear layer nears 128 MiB.
 */
export function linear(step: StepEncoder, y: Binding, x: Binding, w: GpuMatrix, rows: number, o: LinearOptions = {}): void {
  const { cols: k, rows: out } = w;
  const column = o.cols?.column ?? 0;
  const ld = o.cols?.ld ?? out;
  for (const part of w.parts) {
    const options = { bFormat: w.format, bias: part.bias, biasOffset: part.biasOffset, accumulate: o.accumulate, residual: o.residual };
    if (w.parts.length === 1) {
      matmul(step, y, x, part.weight, { m: rows, k, n: out, transB: true, offsetB: part.offset ?? 0, offsetC: column, ldc: ld }, options);
      continue;
    }
    for (let first = 0; first < rows; first += MAX_BATCH) {
      const batch = Math.min(MAX_BATCH, rows - first);
      const dims = { m: 1, k, n: part.rows, batch, transB: true, strideA: k, strideB: 0, strideC: ld, offsetA: first * k, offsetB: part.offset ?? 0, offsetC: first * ld + column + part.firstRow };
      matmul(step, y, x, part.weight, dims, options);
    }
  }
}

/**
 * The input gradient of a linear layer: dx (N, in) = dy (N, out) @ W (or dx += that with `accumulate`);
 * the training backward of a frozen layer needs nothing else. With `cols`, dy is the columns
 * [column, column + out) of an (N, ld) buffer. One part: a single (N, out) @ (out, in) product. Several
 * parts: part p adds dy[:, its rows] @ W_p, one row per batch item (m = 1, A rows ld apart).
 */
export function linearBackwardInput(step: StepEncoder, dx: Binding, dy: Binding, w: GpuMatrix, rows: number, o: Pick<LinearOptions, 'accumulate' | 'cols'> = {}): void {
  const { cols: inFeatures, rows: out } = w;
  const column = o.cols?.column ?? 0;
  const ld = o.cols?.ld ?? out;
  w.parts.forEach((part, p) => {
    const options = { bFormat: w.format, accumulate: o.accumulate || p > 0 };
    if (w.parts.length === 1) {
      matmul(step, dx, dy, part.weight, { m: rows, k: out, n: inFeatures, offsetA: column, lda: ld, offsetB: part.offset ?? 0 }, options);
      return;
    }
    for (let first = 0; first < rows; first += MAX_BATCH) {
      const batch = Math.min(MAX_BATCH, rows - first);
      const dims = {
        m: 1,
        k: part.rows,
        n: inFeatures,
        batch,
        strideA: ld,
        strideB: 0,
        strideC: inFeatures,
        offsetA: first * ld + column + part.firstRow,
        offsetB: part.offset ?? 0,
        offsetC: first * inFeatures,
      };
      matmul(step, dx, dy, part.weight, dims, options);
    }
  });
}

/** One block of logits on its way back: rows [firstRow, +rows) x vocabulary columns [firstCol, +cols). */
interface LogitsBlock {
  firstRow: number;
  rows: number;
  firstCol: number;
  cols: number;
  readback: Readback;
}

/** Logits recorded into a step; `read()` after the submit assembles them. */
export class PendingLogits {
  constructor(
    private readonly blocks: LogitsBlock[],
    readonly rows: number,
    readonly vocab: number,
  ) {}

  /** (rows, V) f32 logits. */
  async read(): Promise<Float32Array> {
    const data = await Promise.all(this.blocks.map((b) => b.readback.data()));
    if (this.blocks.length === 1) return new Float32Array(data[0]);
    const out = new Float32Array(this.rows * this.vocab);
    this.blocks.forEach((b, i) => {
      const block = new Float32Array(data[i]);
      for (let r = 0; r < b.rows; r++) out.set(block.subarray(r * b.cols, (r + 1) * b.cols), (b.firstRow + r) * this.vocab + b.firstCol);
    });
    return out;
  }
}

/**
 * logits (rows, V) = h (rows, C) @ head^T, computed part by part of the head and in row blocks whose output
 * fits `maxBlockBytes`; each block goes to a step temp and is read back, and the blocks meet on the CPU
 * (work proportional to the logits returned, not to the model).
 */
export function lmHead(step: StepEncoder, h: Binding, head: GpuMatrix, rows: number, maxBlockBytes: number): PendingLogits {
  const blocks: LogitsBlock[] = [];
  const C = head.cols;
  for (const part of head.parts) {
    const rowsPerBlock = Math.max(1, Math.min(rows, Math.floor(maxBlockBytes / (part.rows * 4))));
    for (let first = 0; first < rows; first += rowsPerBlock) {
      const n = Math.min(rowsPerBlock, rows - first);
      const bytes = n * part.rows * 4;
      const out = step.temp(bytes, 'lm head logits');
      matmul(step, out, h, part.weight, { m: n, k: C, n: part.rows, transB: true, offsetA: first * C }, { bFormat: head.format });
      blocks.push({ firstRow: first, rows: n, firstCol: part.firstRow, cols: part.rows, readback: step.read(out, 0, bytes) });
    }
  }
  return new PendingLogits(blocks, rows, head.rows);
}
