// The passes a training step records into its one StepEncoder, over a packed micro-batch already uploaded:
// - scoring: the forward alone with any LoRA (the adapter being trained, the frozen reference adapter, or
//   none = the base model), activations ping-ponging through two layer buffers and one shared set, ending
//   in every row's loss (-log p of its label): evaluation, and DPO's reference pass in the step;
// - training: the forward saving activations (or only layer inputs, with recomputation), the LM-head loss
//   with the objective's per-row gradient recorded between its forward and backward, then the backward of
//   every layer down to the LoRA gradients (+=, so micro-batches accumulate).
//
// Memory, for N rows (C hidden, Q = Hq D, K = Hkv D, F intermediate, r rank, L layers); every buffer is a
// step temporary (pooled by size, so the next micro-batch of the same shape reuses them):
//   training: the L + 1 layer inputs (N, C), the final norm, and the LM-head chunk scratch (N x vocab chunk);
//   saved per layer (LayerActivations): 3 (N, C) [attention-norm output, residual after attention, MLP-norm
//   output], 2 (N, Q) [q after RoPE, attention output], 2 (N, K) [k after RoPE, v], 3 (N, F) [gate, up,
//   hidden; 2 for GELU], 4 (N) norm statistics, one (N, r) x A^T per adapted slot, Hq logsumexps per row;
//   with recomputation ONE such set serves every layer: each layer's forward is recorded again from its
//   saved input right before its backward, with the same kernels on the same values (bit-equal gradients);
//   backward scratch shared by all layers: (N, C), 3 (N, Q), 3 (N, K), 3 (N, F), (N, r); plus what the
//   attention backward takes per call (its delta, and for GQA two (N, Q) partials), held to the submit.
//   scoring (a reference pass in the step adds this): 2 (N, C) layer inputs, one activation set, the final
//   norm and one LM-head chunk.
// SmolLM2-135M (C = Q = 576, K = 192, F = 1536, L = 30) at T = 256, batch 8 (N = 2048): 65 MB saved per layer
// + its 4.7 MB input = 2.1 GB without recomputation; 0.15 GB of inputs + one 65 MB set with it; backward
// scratch 62 MB; attention-backward temporaries 9.5 MB per layer (0.28 GB); a reference pass 75 MB.

import type { StepEncoder } from '../../gpu/step-encoder';
import { recordEmbedding } from '../../model/gpu/gpu-embed';
import { recordNorm } from '../../model/gpu/gpu-layer';
import type { GpuCausalLm } from '../../model/gpu/gpu-model';
import type { CrossEntropyGradOptions } from '../../ops/gpu/cross-entropy';
import { recordTrainLayerBackward } from './gpu-train-backward';
import { recordTrainLayer } from './gpu-train-forward';
import { TrainGraph, type DropoutPlan, type LayerActivations } from './gpu-train-graph';
import { headLoss, headLossForward } from './gpu-lm-head-loss';
import type { GpuLoraAdapter } from './gpu-lora';
import type { PackedBatch } from './packed-batch';

/** The packed batch's (N) token ids, positions and labels as step temporaries. */
export interface UploadedBatch {
  packed: PackedBatch;
  ids: GPUBuffer;
  positions: GPUBuffer;
  labels: GPUBuffer;
}

export function uploadBatch(step: StepEncoder, packed: PackedBatch): UploadedBatch {
  const N = packed.rows;
  const ids = step.temp(N * 4, 'token ids');
  const positions = step.temp(N * 4, 'positions');
  const labels = step.temp(N * 4, 'labels');
  step.ctx.write(ids, packed.ids);
  step.ctx.write(positions, packed.positions);
  step.ctx.write(labels, packed.labels);
  return { packed, ids, positions, labels };
}

/** The final norm of the last layer's output x into a fresh (N, C) buffer (with its statistics). */
function finalNorm(g: TrainGraph, model: GpuCausalLm, x: GPUBuffer): { h: GPUBuffer; stats: [GPUBuffer, GPUBuffer] } {
  const stats: [GPUBuffer, GPUBuffer] = [g.rowsBuffer(1, 'final norm stats'), g.rowsBuffer(1, 'final norm rstd')];
  const h = g.rowsBuffer(model.config.hiddenSize, 'final norm out');
  recordNorm(g.step, model.config, h, x, model.weights.finalNorm, g.rows, stats);
  return { h, stats };
}

/**
 * Records the forward with `lora` (null: the base model) and returns the (N) row losses buffer, -log softmax
 * of the logits * logitScale (1 / the logit temperature).
 */
export function recordScoring(step: StepEncoder, model: GpuCausalLm, batch: UploadedBatch, lora: GpuLoraAdapter | null, logitScale = 1): GPUBuffer {
  const { config, weights } = model;
  const { hiddenSize: C, numLayers: L } = config;
  const g = new TrainGraph(step, config, weights, lora, batch.packed, batch.positions, model.invFreq, null);
  const xs = [g.rowsBuffer(C, 'layer input a'), g.rowsBuffer(C, 'layer input b')];
  const acts = g.allocateActivations();
  recordEmbedding(step, xs[0], batch.ids, weights.tokenEmbedding, g.rows, batch.positions, weights.positionEmbedding);
  for (let l = 0; l < L; l++) recordTrainLayer(g, l, xs[l % 2], acts, xs[(l + 1) % 2]);
  const { h } = finalNorm(g, model, xs[L % 2]);
  const rowLoss = g.rowsBuffer(1, 'row losses');
  headLossForward(step, weights.lmHead, { hidden: h, targets: batch.labels, result: step.temp(16, 'loss result'), lse: g.rowsBuffer(2, 'loss lse'), rowLoss }, g.rows, logitScale);
  return rowLoss;
}

export interface TrainingPassOptions {
  recompute: boolean;
  dropout: DropoutPlan | null;
  /**
   * Records the objective's per-row gradient once the row losses (N) are recorded; returns how the LM head's
   * backward scales each row.
   */
  gradOf(rowLoss: GPUBuffer): CrossEntropyGradOptions;
  /** Multiplies the logits before the softmax (1 / the objective's logit temperature); default 1. */
  logitScale?: number;
}

/** Records forward, loss and backward of one micro-batch with `lora` trained; returns the (N) row losses. */
export function recordTraining(step: StepEncoder, model: GpuCausalLm, batch: UploadedBatch, lora: GpuLoraAdapter, options: TrainingPassOptions): GPUBuffer {
  const { config, weights } = model;
  const { hiddenSize: C, numLayers: L } = config;
  const g = new TrainGraph(step, config, weights, lora, batch.packed, batch.positions, model.invFreq, options.dropout);
  // Layer inputs xs[0..L] (xs[L] feeds the final norm); activations per layer, or one shared set.
  const xs = Array.from({ length: L + 1 }, (_, l) => g.rowsBuffer(C, `layer ${l} input`));
  const shared = options.recompute ? g.allocateActivations() : undefined;
  const acts: LayerActivations[] = Array.from({ length: L }, () => shared ?? g.allocateActivations());

  recordEmbedding(step, xs[0], batch.ids, weights.tokenEmbedding, g.rows, batch.positions, weights.positionEmbedding);
  for (let l = 0; l < L; l++) recordTrainLayer(g, l, xs[l], acts[l], xs[l + 1]);

  const final = finalNorm(g, model, xs[L]);
  const rowLoss = g.rowsBuffer(1, 'row losses');
  const dHidden = g.rowsBuffer(C, 'd final norm out');
  const io = { hidden: final.h, targets: batch.labels, result: step.temp(16, 'loss result'), lse: g.rowsBuffer(2, 'loss lse'), rowLoss, dHidden };
  headLoss(step, weights.lmHead, io, g.rows, () => options.gradOf(rowLoss), options.logitScale);

  const dx = g.rowsBuffer(C, 'd residual');
  g.normBackward(dx, dHidden, xs[L], weights.finalNorm, final.stats, false);
  for (let l = L - 1; l >= 0; l--) {
    if (options.recompute) recordTrainLayer(g, l, xs[l], acts[l], null);
    recordTrainLayerBackward(g, l, xs[l], acts[l], dx);
  }
  return rowLoss;
}
