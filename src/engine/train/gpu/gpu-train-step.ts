// LoRA training on the GPU: a GpuCausalLm's frozen weights (f32 or f16) + a GpuLoraAdapter, with an objective.
//
// submitMicroBatch(batch, rule) records ONE step (one queue submit) for a micro-batch:
//   write ids, positions, labels (3 small writeBuffers) -> [the reference's forward, when the objective needs
//   it in the step] -> the training pass (gpu-train-pass.ts): forward saving activations, the LM-head loss
//   with the objective's per-row gradient between its forward and backward (gpu-objective.ts), backward down
//   to the LoRA A / B gradients (+=: micro-batches accumulate) -> read back the row losses (N floats: the
//   objective computes the logged loss and metrics from them on the CPU).
// The optimizer (global gradient norm and clip coefficient on the GPU, AdamW with torch semantics over the
// whole arena in one dispatch, gradients cleared) rides in the last micro-batch's submit; it reads back the
// norm.

import { bufferSize } from '../../gpu/buffer-size';
import type { Readback, StepEncoder } from '../../gpu/step-encoder';
import { checkAdapterShapes, type GpuCausalLm } from '../../model/gpu/gpu-model';
import { adamw } from '../../ops/gpu/adamw';
import { clipSource, gradNorm } from '../../ops/gpu/grad-norm';
import type { AdamWHyper } from '../../ops/cpu/adamw';
import type { GpuGradientRule } from '../objective';
import type { TrainBatch } from '../train-batch';
import { recordRowScaling, type GpuReference } from './gpu-objective';
import type { GpuLoraAdapter } from './gpu-lora';
import { recordScoring, recordTraining, uploadBatch } from './gpu-train-pass';
import { packBatch, type PackedBatch } from './packed-batch';
import { batchSpecs, passPlan, trainAllocationPlan, type TrainAllocationPlan, type TrainBatchShape } from './train-allocation';
import { kernelTraits } from './train-kernel-scratch';

export interface GpuTrainerOptions {
  /** Save only each layer's input and recompute the layer before its backward (default false). */
  recompute?: boolean;
  /** Seed of the LoRA dropout masks (default 0). */
  seed?: number;
  /** Optimizer steps already taken (when resuming): the next step is startStep + 1. */
  startStep?: number;
  /**
   * The frozen reference's LoRA (DPO after SFT: the initial adapter); null or absent: the base model, i.e.
   * the trained adapter switched off. Never trained; no second copy of the base weights exists.
   */
  reference?: GpuLoraAdapter | null;
}

export interface OptimizerHyper extends AdamWHyper {
  /** Clip the global gradient norm to this before AdamW; 0 disables clipping. */
  maxGradNorm: number;
}

export interface OptimizerResult {
  /** The optimizer step just taken (1-based). */
  step: number;
  /** Global L2 norm of the accumulated gradients, before clipping. */
  gradNorm: number;
}

export interface MicroBatchResult {
  /** (N) each packed row's loss, -log p of its label (0 where ignored), before the update. */
  rowLoss: Float32Array;
  /** (N) the same under the reference, when its pass ran in this submit. */
  referenceRowLoss?: Float32Array;
  /** Present when the optimizer step was appended to this micro-batch. */
  optimizer?: OptimizerResult;
}

export interface MicroBatchOptions {
  optimizer?: OptimizerHyper;
  /** Run the reference's forward in this submit (the objective needs it and the batch carries none). */
  referencePass?: boolean;
  /** Row losses are -log softmax(logits / logitTemperature) (TrainingObjective.logitTemperature); default 1. */
  logitTemperature?: number;
}

/** The cross-entropy kernels' logit scale for a temperature: 1 / tau (exactly 1 at tau = 1). */
function logitScaleOf(temperature = 1): number {
  if (!(temperature > 0 && Number.isFinite(temperature))) throw new RangeError(`the logit temperature must be a positive finite number, got ${temperature}`);
  return 1 / temperature;
}

/** What the allocation plan needs of a packed batch. */
function batchShape(packed: PackedBatch): TrainBatchShape {
  return { rows: packed.rows, sequences: packed.starts.length, groups: packed.groups, lseElements: packed.lseElements };
}

/** The row losses of a packed batch as per-sequence token log-probabilities (float64). */
export function rowLossesToLogps(batch: TrainBatch, rowLoss: Float32Array): Float64Array[] {
  let row = 0;
  return batch.sequences.map((s) => {
    const T = s.inputIds.length;
    const logps = Float64Array.from(rowLoss.subarray(row, row + T), (x) => -x);
    row += T;
    return logps;
  });
}

export class GpuTrainer {
  private steps: number;
  /** Micro-batches accumulated since the last optimizer step. */
  private micro = 0;
  private readonly normResult: GPUBuffer;
  private disposed = false;

  private constructor(
    readonly model: GpuCausalLm,
    readonly adapter: GpuLoraAdapter,
    readonly recompute: boolean,
    readonly seed: number,
    startStep: number,
    readonly reference: GpuLoraAdapter | null,
  ) {
    this.steps = startStep;
    this.normResult = model.ctx.createBuffer(16, 'grad norm result');
  }

  static create(model: GpuCausalLm, adapter: GpuLoraAdapter, options: GpuTrainerOptions = {}): GpuTrainer {
    if (adapter.ctx !== model.ctx) throw new Error('the adapter and the model live on different GPU devices');
    checkAdapterShapes(model.config, model.weights, adapter);
    const reference = options.reference ?? null;
    if (reference) {
      if (reference.ctx !== model.ctx) throw new Error('the reference adapter and the model live on different GPU devices');
      checkAdapterShapes(model.config, model.weights, reference);
    }
    const startStep = options.startStep ?? 0;
    if (!Number.isInteger(startStep) || startStep < 0) throw new RangeError(`startStep must be a non-negative integer, got ${startStep}`);
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be a u32, got ${seed}`);
    adapter.trainingBuffers();
    return new GpuTrainer(model, adapter, options.recompute ?? false, seed, startStep, reference);
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.steps;
  }

  /** submitMicroBatch, then its readback. */
  async accumulate(batch: TrainBatch, rule: GpuGradientRule, options: MicroBatchOptions = {}): Promise<MicroBatchResult> {
    return (await this.submitMicroBatch(batch, rule, options)).result;
  }

  /**
   * Forward and backward of one micro-batch in one submit: the LoRA gradients of the objective's loss (its
   * per-row gradient from `rule`) are added to the accumulated ones. With `optimizer`, the optimizer step
   * runs in the same submit, after the backward. Resolves once submitted, so the next micro-batch can be
   * recorded while the GPU works on this one.
   */
  async submitMicroBatch(batch: TrainBatch, rule: GpuGradientRule, options: MicroBatchOptions = {}): Promise<{ result: Promise<MicroBatchResult> }> {
    this.assertLive();
    const packed = packBatch(batch, this.model.config);
    this.checkRows(packed.rows);
    const plan = this.planFor(packed, batch, rule, options);
    this.model.ctx.uniforms.buffer(plan.uniformArenaBytes); // the arena at the plan's bound, made before the step
    const step = this.model.ctx.step();
    // The kernels' shared scratch at its largest size first: every later request fits it.
    for (const r of plan.reserved) step.shared(r.key, r.spec.bytes, r.spec.name);
    const logitScale = logitScaleOf(options.logitTemperature);
    const uploaded = uploadBatch(step, packed, plan.batch);
    const reference = this.referenceFor(step, uploaded, batch, plan, logitScale);
    const dropout = this.adapter.dropout > 0 ? { p: this.adapter.dropout, seed: this.seed, step: this.steps + 1, micro: this.micro } : null;
    const rowLoss = recordTraining(step, this.model, uploaded, this.adapter, {
      plan,
      recompute: this.recompute,
      dropout,
      gradOf: (losses) => recordRowScaling(step, rule, batch, losses, reference.gpu),
      logitScale,
    });
    const reads = { policy: step.read(rowLoss, 0, packed.rows * 4), reference: reference.rows && step.read(reference.rows, 0, packed.rows * 4) };
    this.micro++;
    const optimizer = options.optimizer ? this.recordOptimizer(step, options.optimizer) : undefined;
    await step.submit();
    const result = (async (): Promise<MicroBatchResult> => {
      const out: MicroBatchResult = { rowLoss: new Float32Array(await reads.policy.data()) };
      if (reads.reference) out.referenceRowLoss = new Float32Array(await reads.reference.data());
      if (optimizer) out.optimizer = await optimizer();
      return out;
    })();
    return { result };
  }

  /**
   * The allocation plan of the submit that submitMicroBatch(batch, rule, options) records: every buffer it
   * holds, at the sizes the step takes them (train-allocation.ts).
   */
  allocationPlan(batch: TrainBatch, rule: GpuGradientRule, options: MicroBatchOptions = {}): TrainAllocationPlan {
    return this.planFor(packBatch(batch, this.model.config), batch, rule, options);
  }

  /**
   * (N) row losses of a batch under the adapter as trained ('policy') or the frozen reference, in one submit,
   * at a logit temperature (default 1).
   */
  async rowLosses(batch: TrainBatch, model: 'policy' | 'reference', temperature = 1): Promise<Float32Array> {
    this.assertLive();
    const logitScale = logitScaleOf(temperature);
    const packed = packBatch(batch, this.model.config);
    this.checkRows(packed.rows);
    const step = this.model.ctx.step();
    const lora = model === 'policy' ? this.adapter : this.reference;
    const plan = passPlan(this.model.config, batchShape(packed), lora?.shape ?? null, { training: false, recompute: false });
    const rowLoss = recordScoring(step, this.model, uploadBatch(step, packed, batchSpecs(packed.rows)), lora, plan, logitScale);
    const read = step.read(rowLoss, 0, packed.rows * 4);
    await step.submit();
    return new Float32Array(await read.data());
  }

  /** Clip, AdamW and clear the gradients, in one submit of its own. */
  async optimizerStep(hyper: OptimizerHyper): Promise<OptimizerResult> {
    this.assertLive();
    if (this.micro === 0) throw new Error('optimizer step without any accumulated micro-batch');
    const step = this.model.ctx.step();
    const result = this.recordOptimizer(step, hyper);
    await step.submit();
    return result();
  }

  /**
   * One whole optimizer step over micro-batches (gradient accumulation), rule[i] for micro-batch i; the
   * optimizer runs in the last micro-batch's submit. Every micro-batch is submitted before any readback
   * is awaited. logitTemperature: as MicroBatchOptions's.
   */
  async trainStep(microBatches: readonly TrainBatch[], rules: readonly GpuGradientRule[], hyper: OptimizerHyper, referencePass: boolean, logitTemperature = 1): Promise<{ results: MicroBatchResult[]; gradNorm: number }> {
    if (microBatches.length === 0) throw new RangeError('trainStep needs at least one micro-batch');
    if (rules.length !== microBatches.length) throw new RangeError(`${rules.length} gradient rules for ${microBatches.length} micro-batches`);
    const pending: Promise<MicroBatchResult>[] = [];
    const stepsBefore = this.steps;
    for (let i = 0; i < microBatches.length; i++) {
      const last = i === microBatches.length - 1;
      const options = { referencePass: referencePass && !microBatches[i].reference, optimizer: last ? hyper : undefined, logitTemperature };
      let submitted: { result: Promise<MicroBatchResult> };
      try {
        submitted = await this.submitMicroBatch(microBatches[i], rules[i], options);
      } catch (err) {
        // If even the clean-up fails (a lost device), the original error is the one that says why.
        await this.abandonStep(stepsBefore).catch(() => undefined);
        throw err;
      }
      submitted.result.catch(() => undefined); // handled by Promise.all below; never an unhandled rejection meanwhile
      pending.push(submitted.result);
    }
    const results = await Promise.all(pending);
    return { results, gradNorm: results[results.length - 1].optimizer!.gradNorm };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.normResult.destroy();
  }

  /**
   * A micro-batch of the step failed to reach the queue (e.g. the device refused an allocation): no update
   * was applied. Forget the step's optimizer count and clear the gradients the earlier micro-batches added,
   * so the same step can be tried again (with less memory) as if it had never started.
   */
  private async abandonStep(steps: number): Promise<void> {
    this.steps = steps;
    this.micro = 0;
    const step = this.model.ctx.step();
    step.clear(this.adapter.trainingBuffers().grads);
    await step.submit();
  }

  /** The reference the objective's kernel reads: its row losses from a pass in this submit, precomputed sums, or none. */
  private referenceFor(step: StepEncoder, uploaded: ReturnType<typeof uploadBatch>, batch: TrainBatch, plan: TrainAllocationPlan, logitScale: number): { gpu: GpuReference; rows?: GPUBuffer } {
    if (batch.reference) {
      const sums = step.temp(batch.reference.length * 4, 'reference sums');
      step.ctx.write(sums, Float32Array.from(batch.reference));
      return { gpu: { sums } };
    }
    if (!plan.reference) return { gpu: null };
    const rows = recordScoring(step, this.model, uploaded, this.reference, plan.reference, logitScale);
    return { gpu: { rows }, rows };
  }

  /** The last plan made and what it was made for (a run's steps mostly repeat one batch shape). */
  private lastPlan: { key: string; tuning: unknown; plan: TrainAllocationPlan } | undefined;

  /** The plan of one micro-batch's submit (see allocationPlan), made again only when what it depends on changes. */
  private planFor(packed: PackedBatch, batch: TrainBatch, rule: GpuGradientRule, options: MicroBatchOptions): TrainAllocationPlan {
    const { model } = this;
    const referencePass = Boolean(options.referencePass) && !batch.reference;
    const shape = batchShape(packed);
    // Everything else the plan reads is fixed for this trainer, but for the matmul tuning (kernelTraits).
    const groups = shape.groups.map((g) => `${g.sequences}x${g.length}`).join(',');
    const key = `${shape.rows}|${shape.sequences}|${groups}|${shape.lseElements}|${rule.kind}|${Boolean(batch.reference)}|${referencePass}|${Boolean(options.optimizer)}`;
    const tuning = model.ctx.matmulTuning;
    if (this.lastPlan?.key === key && this.lastPlan.tuning === tuning) return this.lastPlan.plan;
    const plan = trainAllocationPlan(model.config, {
      batch: shape,
      weightFormat: model.weights.format,
      weightBytes: [...model.weights.buffers, ...(model.invFreq ? [model.invFreq] : [])].reduce((n, b) => n + bufferSize(b), 0),
      headParts: model.weights.lmHead.parts.map((p) => p.rows),
      adapter: this.adapter.shape,
      recompute: this.recompute,
      dropout: this.adapter.dropout > 0,
      objective: rule.kind,
      referenceSums: Boolean(batch.reference),
      referencePass: referencePass ? (this.reference?.shape ?? null) : undefined,
      referenceElements: this.reference?.elements,
      optimizer: Boolean(options.optimizer),
      kernels: kernelTraits(model.ctx),
    });
    this.lastPlan = { key, tuning, plan };
    return plan;
  }

  /**
   * Records norm + clip coefficient and AdamW for the next step, clearing the gradients; the step counts
   * as taken from here on. The returned function, called after the submit, reads the norm back.
   */
  private recordOptimizer(step: StepEncoder, hyper: OptimizerHyper): () => Promise<OptimizerResult> {
    const { adapter } = this;
    const { grads, m, v } = adapter.trainingBuffers();
    const n = adapter.elements;
    const t = this.steps + 1;
    gradNorm(step, this.normResult, [{ buffer: grads, n }], { maxNorm: hyper.maxGradNorm });
    const clip = hyper.maxGradNorm > 0 ? clipSource(this.normResult) : undefined;
    adamw(step, adapter.params, grads, m, v, n, hyper, t, { clip });
    step.clear(grads);
    const norm: Readback = step.read(this.normResult, 0, 4);
    this.steps = t;
    this.micro = 0;
    return async () => ({ step: t, gradNorm: new Float32Array(await norm.data())[0] });
  }

  /** The widest activation (N rows) must fit one binding. */
  private checkRows(N: number): void {
    const { hiddenSize: C, numHeads: Hq, headDim: D, intermediateSize: F } = this.model.config;
    const width = Math.max(C, Hq * D, F);
    const limit = Math.min(this.model.ctx.limits.maxStorageBufferBindingSize, this.model.ctx.limits.maxBufferSize);
    if (N * width * 4 > limit) {
      throw new RangeError(`a micro-batch of ${N} tokens needs ${N * width * 4}-byte activations, more than this device binds (${limit}); use at most ${Math.floor(limit / (width * 4))} tokens`);
    }
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('the trainer was disposed');
  }
}
