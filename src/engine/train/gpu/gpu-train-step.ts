// LoRA training on the GPU: a GpuCausalLm's frozen weights (f32 or f16) + a GpuLoraAdapter.
//
// accumulate(batch, denominator) records ONE step (one queue submit) for a micro-batch:
//   write ids, positions, labels (3 small writeBuffers) -> embedding -> L x training block (saving
//   activations) -> final norm -> chunked LM-head cross-entropy forward + backward (sum of token losses /
//   denominator; the (N, V) logits never exist) -> final norm backward -> L x block backward
//   -> LoRA A / B gradients += (micro-batches accumulate) -> read back [loss sum, trained tokens].
// optimizerStep(hyper) (or accumulate's `optimizer` option, appended to the same submit): global gradient
// norm and clip coefficient on the GPU, AdamW (torch semantics) over the whole arena in one dispatch,
// gradients cleared; reads back the norm.
//
// Memory, for N rows (C hidden, Q = Hq D, K = Hkv D, F intermediate, r rank, L layers); every buffer is a
// step temporary (pooled by size, so the next micro-batch of the same shape reuses them):
//   always: the L + 1 layer inputs (N, C), the final norm, and the LM-head chunk scratch (N x vocab chunk);
//   saved per layer (LayerActivations): 3 (N, C) [attention-norm output, residual after attention, MLP-norm
//   output], 2 (N, Q) [q after RoPE, attention output], 2 (N, K) [k after RoPE, v], 3 (N, F) [gate, up,
//   hidden; 2 for GELU], 4 (N) norm statistics, one (N, r) x A^T per adapted slot, Hq logsumexps per row;
//   with `recompute: true` ONE such set serves every layer: each layer's forward is recorded again from its
//   saved input right before its backward, with the same kernels on the same values (bit-equal gradients);
//   backward scratch shared by all layers: (N, C), 3 (N, Q), 3 (N, K), 3 (N, F), (N, r); plus what the
//   attention backward takes per call (its delta, and for GQA two (N, Q) partials), held to the submit.
// SmolLM2-135M (C = Q = 576, K = 192, F = 1536, L = 30) at T = 256, batch 8 (N = 2048): 65 MB saved per layer
// + its 4.7 MB input = 2.1 GB without recomputation; 0.15 GB of inputs + one 65 MB set with it; backward
// scratch 62 MB; attention-backward temporaries 9.5 MB per layer (0.28 GB).

import type { AdamWHyper } from '../../ops/cpu/adamw';
import { adamw } from '../../ops/gpu/adamw';
import { clipSource, gradNorm } from '../../ops/gpu/grad-norm';
import { recordEmbedding } from '../../model/gpu/gpu-embed';
import { recordNorm } from '../../model/gpu/gpu-layer';
import { checkAdapterShapes, type GpuCausalLm } from '../../model/gpu/gpu-model';
import type { Readback, StepEncoder } from '../../gpu/step-encoder';
import { trainedTokens, type TrainBatch } from '../train-batch';
import type { GpuLoraAdapter } from './gpu-lora';
import { recordTrainLayerBackward } from './gpu-train-backward';
import { recordTrainLayer } from './gpu-train-forward';
import { headLoss, headLossForward } from './gpu-lm-head-loss';
import { TrainGraph, type LayerActivations } from './gpu-train-graph';
import { packBatch } from './packed-batch';

export interface GpuTrainerOptions {
  /** Save only each layer's input and recompute the layer before its backward (default false). */
  recompute?: boolean;
  /** Seed of the LoRA dropout masks (default 0). */
  seed?: number;
  /** Optimizer steps already taken (when resuming): the next step is startStep + 1. */
  startStep?: number;
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
  /** Sum of the token losses over the micro-batch's trained labels (f32 on the GPU). */
  lossSum: number;
  /** Trained labels in the micro-batch. */
  trainedTokens: number;
  /** Present when the optimizer step was appended to this micro-batch. */
  optimizer?: OptimizerResult;
}

/** The packed batch's (N) token ids, positions and labels as step temporaries. */
function uploadBatch(step: StepEncoder, ctx: GpuCausalLm['ctx'], packed: ReturnType<typeof packBatch>) {
  const N = packed.rows;
  const ids = step.temp(N * 4, 'token ids');
  const positions = step.temp(N * 4, 'positions');
  const labels = step.temp(N * 4, 'labels');
  ctx.write(ids, packed.ids);
  ctx.write(positions, packed.positions);
  ctx.write(labels, packed.labels);
  return { ids, positions, labels };
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
  ) {
    this.steps = startStep;
    this.normResult = model.ctx.createBuffer(16, 'grad norm result');
  }

  static create(model: GpuCausalLm, adapter: GpuLoraAdapter, options: GpuTrainerOptions = {}): GpuTrainer {
    if (adapter.ctx !== model.ctx) throw new Error('the adapter and the model live on different GPU devices');
    checkAdapterShapes(model.config, model.weights, adapter);
    const startStep = options.startStep ?? 0;
    if (!Number.isInteger(startStep) || startStep < 0) throw new RangeError(`startStep must be a non-negative integer, got ${startStep}`);
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be a u32, got ${seed}`);
    adapter.trainingBuffers();
    return new GpuTrainer(model, adapter, options.recompute ?? false, seed, startStep);
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.steps;
  }

  /**
   * Forward and backward of one micro-batch in one submit: the LoRA gradients of (sum of its token losses) /
   * denominator are added to the accumulated ones. The denominator is the trained-token count of the whole
   * accumulated batch, so the loss is the mean over all of them. With `optimizer`, the optimizer step runs
   * in the same submit, after the backward.
   */
  async accumulate(batch: TrainBatch, denominator: number, options: { optimizer?: OptimizerHyper } = {}): Promise<MicroBatchResult> {
    return (await this.submitMicroBatch(batch, denominator, options)).result;
  }

  /**
   * accumulate() without waiting for the readback: resolves once the step is submitted, so the next
   * micro-batch can be recorded while the GPU works on this one.
   */
  async submitMicroBatch(batch: TrainBatch, denominator: number, options: { optimizer?: OptimizerHyper } = {}): Promise<{ result: Promise<MicroBatchResult> }> {
    this.assertLive();
    if (!(denominator > 0) || !Number.isFinite(denominator)) throw new RangeError(`denominator must be a positive number, got ${denominator}`);
    const packed = packBatch(batch, this.model.config);
    this.checkRows(packed.rows);
    const step = this.model.ctx.step();
    const loss = this.recordMicroBatch(step, packed, denominator);
    this.micro++;
    const optimizer = options.optimizer ? this.recordOptimizer(step, options.optimizer) : undefined;
    await step.submit();
    const result = (async (): Promise<MicroBatchResult> => {
      const [lossSum, trainedTokens] = new Float32Array(await loss.data());
      return optimizer ? { lossSum, trainedTokens, optimizer: await optimizer() } : { lossSum, trainedTokens };
    })();
    return { result };
  }

  /**
   * Evaluation: the summed token loss and trained-token count of a batch with the adapter on (dropout off),
   * in one submit, without gradients. Activations ping-pong through two layer buffers and one shared set.
   */
  async evaluate(batch: TrainBatch): Promise<{ lossSum: number; trainedTokens: number }> {
    this.assertLive();
    const packed = packBatch(batch, this.model.config);
    this.checkRows(packed.rows);
    const { config, weights, ctx } = this.model;
    const { hiddenSize: C, numLayers: L } = config;
    const N = packed.rows;
    const step = ctx.step();
    const { ids, positions, labels } = uploadBatch(step, ctx, packed);
    const g = new TrainGraph(step, config, weights, this.adapter, packed, positions, this.model.invFreq, null);
    const xs = [g.rowsBuffer(C, 'layer input a'), g.rowsBuffer(C, 'layer input b')];
    const acts = g.allocateActivations();
    recordEmbedding(step, xs[0], ids, weights.tokenEmbedding, N, positions, weights.positionEmbedding);
    for (let l = 0; l < L; l++) recordTrainLayer(g, l, xs[l % 2], acts, xs[(l + 1) % 2]);
    const stats: [GPUBuffer, GPUBuffer] = [g.rowsBuffer(1, 'final norm stats'), g.rowsBuffer(1, 'final norm rstd')];
    const hFinal = g.rowsBuffer(C, 'final norm out');
    recordNorm(step, config, hFinal, xs[L % 2], weights.finalNorm, N, stats);
    const result = step.temp(16, 'loss result');
    headLossForward(step, weights.lmHead, { hidden: hFinal, targets: labels, result, lse: g.rowsBuffer(2, 'loss lse') }, N);
    const read = step.read(result, 4, 8);
    await step.submit();
    const [lossSum, trainedTokens] = new Float32Array(await read.data());
    return { lossSum, trainedTokens };
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
   * One whole optimizer step over micro-batches (gradient accumulation): the loss is the mean over all
   * their trained tokens; the optimizer runs in the last micro-batch's submit. Every micro-batch is
   * submitted before any readback is awaited.
   */
  async trainStep(microBatches: readonly TrainBatch[], hyper: OptimizerHyper): Promise<{ loss: number; trainedTokens: number; gradNorm: number }> {
    if (microBatches.length === 0) throw new RangeError('trainStep needs at least one micro-batch');
    const denominator = microBatches.reduce((n, b) => n + trainedTokens(b), 0);
    if (denominator === 0) throw new RangeError('the step has no trained tokens (every label is ignored)');
    const pending: Promise<MicroBatchResult>[] = [];
    for (let i = 0; i < microBatches.length; i++) {
      const last = i === microBatches.length - 1;
      const { result } = await this.submitMicroBatch(microBatches[i], denominator, last ? { optimizer: hyper } : {});
      result.catch(() => undefined); // handled by Promise.all below; never an unhandled rejection meanwhile
      pending.push(result);
    }
    const results = await Promise.all(pending);
    const lossSum = results.reduce((sum, r) => sum + r.lossSum, 0);
    return { loss: lossSum / denominator, trainedTokens: denominator, gradNorm: results[results.length - 1].optimizer!.gradNorm };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.normResult.destroy();
  }

  /** Records the micro-batch; returns the readback of [loss sum, trained rows]. */
  private recordMicroBatch(step: StepEncoder, packed: ReturnType<typeof packBatch>, denominator: number): Readback {
    const { model, adapter } = this;
    const { config, weights, ctx } = model;
    const { hiddenSize: C, numLayers: L } = config;
    const N = packed.rows;
    const { ids, positions, labels } = uploadBatch(step, ctx, packed);

    const dropout = adapter.dropout > 0 ? { p: adapter.dropout, seed: this.seed, step: this.steps + 1, micro: this.micro } : null;
    const g = new TrainGraph(step, config, weights, adapter, packed, positions, model.invFreq, dropout);
    // Layer inputs xs[0..L] (xs[L] feeds the final norm); activations per layer, or one shared set.
    const xs = Array.from({ length: L + 1 }, (_, l) => g.rowsBuffer(C, `layer ${l} input`));
    const shared = this.recompute ? g.allocateActivations() : undefined;
    const acts: LayerActivations[] = Array.from({ length: L }, () => shared ?? g.allocateActivations());

    recordEmbedding(step, xs[0], ids, weights.tokenEmbedding, N, positions, weights.positionEmbedding);
    for (let l = 0; l < L; l++) recordTrainLayer(g, l, xs[l], acts[l], xs[l + 1]);

    // Final norm and the LM-head loss with its gradient (sum of token losses / denominator).
    const finalStats: [GPUBuffer, GPUBuffer] = [g.rowsBuffer(1, 'final norm stats'), g.rowsBuffer(1, 'final norm rstd')];
    const hFinal = g.rowsBuffer(C, 'final norm out');
    recordNorm(step, config, hFinal, xs[L], weights.finalNorm, N, finalStats);
    const result = step.temp(16, 'loss result');
    const dHidden = g.rowsBuffer(C, 'd final norm out');
    headLoss(step, weights.lmHead, { hidden: hFinal, targets: labels, result, lse: g.rowsBuffer(2, 'loss lse'), dHidden }, N, 1 / denominator);

    const dx = g.rowsBuffer(C, 'd residual');
    g.normBackward(dx, dHidden, xs[L], weights.finalNorm, finalStats, false);
    for (let l = L - 1; l >= 0; l--) {
      if (this.recompute) recordTrainLayer(g, l, xs[l], acts[l], null);
      recordTrainLayerBackward(g, l, xs[l], acts[l], dx);
    }
    return step.read(result, 4, 8);
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
    const norm = step.read(this.normResult, 0, 4);
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
