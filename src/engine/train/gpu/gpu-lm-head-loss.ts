// The training loss through the model's LM head, which gpu-weights.ts may have split by rows into several
// buffers (a 151936 x 896 f16 head is 272 MB, over a 128 MiB binding limit). One buffer: the chunked
// lmHeadLoss op as it is. Several: the same chunked cross-entropy (online softmax statistics per vocabulary
// chunk, finalize, then per chunk dlogits in place and dh += dlogits W_chunk), with the chunks walked part
// by part, each chunk read through an element offset into its part. Between the forward and the backward,
// the objective records how each row's gradient is scaled (objective.ts: GpuGradientRule), reading the row
// losses the forward wrote. logitScale (1 / the objective's logit temperature; GRPO reads log-probabilities
// at the sampling temperature) multiplies the logits inside the cross-entropy kernels: 1 changes nothing.

import type { StepEncoder } from '../../gpu/step-encoder';
import type { GpuMatrix } from '../../model/gpu/gpu-weights';
import { crossEntropyChunkBackward, crossEntropyFinalize, type CrossEntropyGradOptions } from '../../ops/gpu/cross-entropy';
import { lmHeadLoss, lmHeadLossForward } from '../../ops/gpu/lm-head-loss';
import { headChunks, recordChunkStats, type HeadChunk } from '../../model/gpu/gpu-head-stats';
import { matmul } from '../../ops/gpu/matmul';

export interface HeadLossBuffers {
  /** (N, C) final norm output. */
  hidden: GPUBuffer;
  /** (N) i32 labels, negative = ignored. */
  targets: GPUBuffer;
  /** out: 4 f32 [mean, sum of token losses, trained rows, 1 / trained rows]. */
  result: GPUBuffer;
  /** out: (N, 2) f32. */
  lse: GPUBuffer;
  /** out: (N) f32 each row's loss, -log p of its label (0 where the label is ignored). */
  rowLoss: GPUBuffer;
  /** out: (N, C) gradient of the objective's loss w.r.t. hidden. */
  dHidden: GPUBuffer;
}

/** Loss only (scoring): result, lse and the row losses, no gradient. */
export function headLossForward(step: StepEncoder, head: GpuMatrix, io: Omit<HeadLossBuffers, 'dHidden'>, rows: number, logitScale = 1): void {
  const C = head.cols;
  const bFormat = head.format;
  if (head.parts.length === 1) {
    const buffers = { hidden: io.hidden, weight: head.parts[0].weight, targets: io.targets, result: io.result, lse: io.lse, rowLoss: io.rowLoss };
    lmHeadLossForward(step, buffers, { rows, channels: C, vocab: head.rows }, { weightFormat: bFormat, logitScale });
    return;
  }
  partsForward(step, head, io, rows, headChunks(head, rows), logitScale);
}

/** The split head's forward: every chunk's logits into one scratch, folded into the statistics. */
function partsForward(step: StepEncoder, head: GpuMatrix, io: Omit<HeadLossBuffers, 'dHidden'>, rows: number, chunks: HeadChunk[], logitScale: number): GPUBuffer {
  const { state, logits } = recordChunkStats(step, head, io.hidden, io.targets, rows, chunks, logitScale);
  crossEntropyFinalize(step, io.result, io.lse, io.rowLoss, state, io.targets, rows);
  return logits;
}

/**
 * Loss forward and backward through `head` (V, C) for `rows` rows, recorded into `step`. `gradOf` runs
 * between the two (after the row losses are recorded) and says how each row's gradient is scaled.
 */
export function headLoss(step: StepEncoder, head: GpuMatrix, io: HeadLossBuffers, rows: number, gradOf: () => CrossEntropyGradOptions, logitScale = 1): void {
  const C = head.cols;
  const bFormat = head.format;
  if (head.parts.length === 1) {
    const buffers = { hidden: io.hidden, weight: head.parts[0].weight, targets: io.targets, result: io.result, lse: io.lse, rowLoss: io.rowLoss, dHidden: io.dHidden };
    lmHeadLoss(step, buffers, { rows, channels: C, vocab: head.rows }, { weightFormat: bFormat, logitScale, afterForward: gradOf });
    return;
  }
  const chunks = headChunks(head, rows);
  const logits = partsForward(step, head, io, rows, chunks, logitScale);
  const grad = { ...gradOf(), logitScale };
  chunks.forEach((c, i) => {
    // logits (N, n) = h (N, C) @ W_chunk (n, C)^T, recomputed; then dlogits in place
    matmul(step, logits, io.hidden, c.weight, { m: rows, k: C, n: c.n, transB: true, offsetB: c.offset }, { bFormat });
    crossEntropyChunkBackward(step, logits, io.targets, io.lse, io.result, rows, c.n, c.v0, grad);
    // dh (N, C) (+)= dlogits (N, n) @ W_chunk (n, C)
    matmul(step, io.dHidden, logits, c.weight, { m: rows, k: c.n, n: C, offsetB: c.offset }, { bFormat, accumulate: i > 0 });
  });
}
