// The passes a training step records into its one StepEncoder, over a packed micro-batch already uploaded:
// - scoring: the forward alone with any LoRA (the adapter being trained, the frozen reference adapter, or
//   none = the base model), activations ping-ponging through two layer buffers and one shared set, ending
//   in every row's loss (-log p of its label): evaluation, and DPO's reference pass in the step;
// - training: the forward saving activations (or only layer inputs, with recomputation), the LM-head loss
//   with the objective's per-row gradient recorded between its forward and backward, then the backward of
//   every layer down to the LoRA gradients (+=, so micro-batches accumulate).
//
// Memory: every buffer is a step temporary (pooled by size, so the next micro-batch of the same shape reuses
// them) at the size and name the allocation plan gives (train-allocation.ts, which the memory estimate sums):
//   training: the L + 1 layer inputs (N, C), one activation set per layer (or ONE set with recomputation: each
//   layer's forward is recorded again from its saved input right before its backward, with the same kernels
//   on the same values, so the gradients are bit-equal), the final norm, the LM-head loss, the backward's
//   scratch shared by every layer, and the kernels' own scratch;
//   scoring (a reference pass in the step adds this): 2 (N, C) layer inputs, one activation set, the final
//   norm and the LM-head loss.

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
import type { BufferSpec, PassPlan, TrainAllocationPlan } from './train-allocation';

/** The packed batch's (N) token ids, positions and labels as step temporaries. */
export interface UploadedBatch {
  packed: PackedBatch;
  ids: GPUBuffer;
  positions: GPUBuffer;
  labels: GPUBuffer;
}

/** The (N) ids, positions and labels at the plan's sizes (TrainAllocationPlan.batch). */
export function uploadBatch(step: StepEncoder, packed: PackedBatch, specs: TrainAllocationPlan['batch']): UploadedBatch {
  const take = (s: BufferSpec) => step.temp(s.bytes, s.name);
  const ids = take(specs.ids);
  const positions = take(specs.positions);
  const labels = take(specs.labels);
  step.ctx.write(ids, packed.ids);
  step.ctx.write(positions, packed.positions);
  step.ctx.write(labels, packed.labels);
  return { packed, ids, positions, labels };
}

/** The final norm of the last layer's output x into a fresh (N, C) buffer (with its statistics). */
function finalNorm(g: TrainGraph, model: GpuCausalLm, x: GPUBuffer): { h: GPUBuffer; stats: [GPUBuffer, GPUBuffer] } {
  const stats = g.takeStats(g.plan.pass.finalStats);
  const h = g.take(g.plan.pass.finalNorm);
  recordNorm(g.step, model.config, h, x, model.weights.finalNorm, g.rows, stats);
  return { h, stats };
}

/**
 * Records the forward with `lora` (null: the base model) and returns the (N) row losses buffer, -log softmax
 * of the logits * logitScale (1 / the logit temperature).
 */
export function recordScoring(step: StepEncoder, model: GpuCausalLm, batch: UploadedBatch, lora: GpuLoraAdapter | null, plan: PassPlan, logitScale = 1): GPUBuffer {
  const { config, weights } = model;
  const L = config.numLayers;
  const g = new TrainGraph(step, config, weights, lora, batch.packed, batch.positions, model.invFreq, null, { pass: plan });
  const xs = [g.take(plan.layerInput), g.take(plan.layerInput)];
  const acts = g.allocateActivations();
  recordEmbedding(step, xs[0], batch.ids, weights.tokenEmbedding, g.rows, batch.positions, weights.positionEmbedding);
  for (let l = 0; l < L; l++) recordTrainLayer(g, l, xs[l % 2], acts, xs[(l + 1) % 2]);
  const { h } = finalNorm(g, model, xs[L % 2]);
  const rowLoss = g.take(plan.rowLoss);
  headLossForward(step, weights.lmHead, { hidden: h, targets: batch.labels, result: g.take(plan.lossResult), lse: g.take(plan.lossLse), rowLoss }, g.rows, logitScale);
  return rowLoss;
}

export interface TrainingPassOptions {
  /** The micro-batch's allocation plan (trainAllocationPlan): every buffer of the pass at its size. */
  plan: TrainAllocationPlan;
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
  const L = config.numLayers;
  const { training: pass, backward, dropout } = options.plan;
  if (pass.layerInputs !== L + 1 || pass.activationSets !== (options.recompute ? 1 : L)) throw new Error('the allocation plan is not for this training pass');
  const g = new TrainGraph(step, config, weights, lora, batch.packed, batch.positions, model.invFreq, options.dropout, { pass, backward, dropout });
  // Layer inputs xs[0..L] (xs[L] feeds the final norm); activations per layer, or one shared set.
  const xs = Array.from({ length: L + 1 }, () => g.take(pass.layerInput));
  const shared = options.recompute ? g.allocateActivations() : undefined;
  const acts: LayerActivations[] = Array.from({ length: L }, () => shared ?? g.allocateActivations());

  recordEmbedding(step, xs[0], batch.ids, weights.tokenEmbedding, g.rows, batch.positions, weights.positionEmbedding);
  for (let l = 0; l < L; l++) recordTrainLayer(g, l, xs[l], acts[l], xs[l + 1]);

  const final = finalNorm(g, model, xs[L]);
  const rowLoss = g.take(pass.rowLoss);
  const dHidden = g.take(backward.dFinal);
  const io = { hidden: final.h, targets: batch.labels, result: g.take(pass.lossResult), lse: g.take(pass.lossLse), rowLoss, dHidden };
  headLoss(step, weights.lmHead, io, g.rows, () => options.gradOf(rowLoss), options.logitScale);

  const dx = g.take(backward.dResidual);
  g.normBackward(dx, dHidden, xs[L], weights.finalNorm, final.stats, false);
  for (let l = L - 1; l >= 0; l--) {
    if (options.recompute) recordTrainLayer(g, l, xs[l], acts[l], null);
    recordTrainLayerBackward(g, l, xs[l], acts[l], dx);
  }
  return rowLoss;
}
