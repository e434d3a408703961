// Each scored row's softmax statistics at its target, through the LM head without the (rows, V) logits:
// the vocabulary is walked in chunks (each part of a split head in turn), each chunk's logits computed by
// matmul into one scratch and folded into per-row (max, sum of exp(z - max), target logit) by the training
// loss's own kernel (shaders/cross_entropy_stats.wgsl). Only those 4 floats per row come back; the CPU
// forms log p = z_t - max - log(sum) in float64 and "greedy" as z_t >= max (cpu-scores.ts).

import type { Readback, StepEncoder } from '../../gpu/step-encoder';
import { CE_STATE_BYTES_PER_ROW, crossEntropyChunkStats } from '../../ops/gpu/cross-entropy';
import { vocabChunkColumns } from '../../ops/gpu/lm-head-loss';
import { matmul } from '../../ops/gpu/matmul';
import type { GpuMatrix } from './gpu-weights';

/** Columns [v0, v0 + n) of the vocabulary: rows [offset / C, ...) of one part's buffer. */
export interface HeadChunk {
  weight: GPUBuffer;
  /** Element offset of the chunk's first row in `weight`. */
  offset: number;
  v0: number;
  n: number;
}

/** The LM head's vocabulary in chunks whose (rows, n) logits fit one binding, part by part of a split head. */
export function headChunks(head: GpuMatrix, rows: number): HeadChunk[] {
  const C = head.cols;
  const chunks: HeadChunk[] = [];
  for (const part of head.parts) {
    const cols = vocabChunkColumns({ rows, channels: C, vocab: part.rows });
    for (let c0 = 0; c0 < part.rows; c0 += cols) {
      chunks.push({ weight: part.weight, offset: c0 * C, v0: part.firstRow + c0, n: Math.min(cols, part.rows - c0) });
    }
  }
  return chunks;
}

/**
 * hidden (rows, C) final-norm output; targets (rows) i32. Records the chunked head folded into the (rows)
 * cross-entropy state (max, sum of exp(logit - max), target logit, unused) of the logits * logitScale
 * (default 1); returns that state and the logits scratch (the training loss reuses it for its backward).
 */
export function recordChunkStats(step: StepEncoder, head: GpuMatrix, hidden: GPUBuffer, targets: GPUBuffer, rows: number, chunks: readonly HeadChunk[], logitScale = 1): { state: GPUBuffer; logits: GPUBuffer } {
  const C = head.cols;
  const logits = step.temp(rows * Math.max(...chunks.map((c) => c.n)) * 4, 'lm-head logits chunk');
  const state = step.temp(rows * CE_STATE_BYTES_PER_ROW, 'cross-entropy state');
  chunks.forEach((c, i) => {
    // logits (rows, n) = hidden (rows, C) @ W[v0 : v0 + n] (n, C)^T
    matmul(step, logits, hidden, c.weight, { m: rows, k: C, n: c.n, transB: true, offsetB: c.offset }, { bFormat: head.format });
    crossEntropyChunkStats(step, state, logits, targets, rows, c.n, c.v0, i === 0, logitScale);
  });
  return { state, logits };
}

/** The readback of the scored rows' (rows, 4) f32 statistics. */
export function recordHeadStats(step: StepEncoder, head: GpuMatrix, hidden: GPUBuffer, targets: GPUBuffer, rows: number): Readback {
  const { state } = recordChunkStats(step, head, hidden, targets, rows, headChunks(head, rows));
  return step.read(state, 0, rows * CE_STATE_BYTES_PER_ROW);
}
