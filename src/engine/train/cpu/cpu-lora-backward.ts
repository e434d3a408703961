// The CPU training reference's losses and LoRA gradients, in float64: each sequence of the batch runs the
// whole model on its own (positions from 0, causal attention within it) to the log-probability of every
// labelled token; an objective (objective.ts) makes the loss of those and its gradient per token; the
// backward runs by hand from each token's gradient down to the LoRA A and B of every adapted slot (the base
// is frozen: no base gradients exist). SFT's token cross-entropy / denominator keeps its own entry points.
//
//   embedding (+ learned positions) -> L x block (cpu-lora-layer.ts) -> final norm -> LM head -> / tau -> CE
//
// tau, the logit temperature (TrainingObjective.logitTemperature; GRPO: the sampling temperature, as TRL's
// _get_per_token_logps_and_entropies divides the logits by it), is 1 for SFT and DPO: the logits are then
// left untouched.

import { crossEntropyBackward, crossEntropyForward } from '../../ops/cpu/cross-entropy';
import { embeddingForward } from '../../ops/cpu/embedding';
import type { LinearSlot } from '../../lora/lora-config';
import type { ObjectiveResult, TokenLogps, TrainingObjective } from '../objective';
import { IGNORE_INDEX, trainedTokens, type LoraGrads, type TrainBatch, type TrainSequence } from '../train-batch';
import { bindAdapter, type CpuLoraAdapter, type LayerBindings } from './cpu-lora-adapter';
import { normForward, type NormSaved } from '../../model/cpu-layer';
import { loraLayerBackward, loraLayerForward, normBackward, type LayerLora, type LayerSaved } from './cpu-lora-layer';
import type { CpuTrainModel } from './cpu-train-model';
import { addMatmul, addMatmulTransB } from './dense';

/**
 * The dropout mask of one module for one sequence of the batch: (T, in) values 0 or 1 / (1 - p), applied to
 * the module's input before A. GPT-2's c_attn is one module, so q, k and v share its mask, as in PEFT.
 */
export type DropoutMasks = (sequence: number, module: number) => Float64Array;

export interface CpuLossOptions {
  /** Divides the summed token losses; default the batch's trained-token count (gradient accumulation
   * passes the whole accumulated batch's count). */
  denominator?: number;
  /** Required when adapter.config.dropout > 0: the reference draws no random numbers itself. */
  dropoutMasks?: DropoutMasks;
}

/** Options of the log-probability passes: dropout masks, and the logit temperature (default 1). */
export interface CpuLogpOptions {
  dropoutMasks?: DropoutMasks;
  temperature?: number;
}

function checkTemperature(temperature: number): number {
  if (!(temperature > 0 && Number.isFinite(temperature))) throw new RangeError(`the logit temperature must be a positive finite number, got ${temperature}`);
  return temperature;
}

export interface CpuLossAndGrads {
  /** Summed token losses / denominator. */
  loss: number;
  /** Summed token losses over the batch's trained labels. */
  lossSum: number;
  /** Trained labels in this batch. */
  trainedTokens: number;
  /** Aligned with adapter.modules: (r, in) for A, (out, r) for B. */
  grads: LoraGrads<Float64Array>[];
}

function checkSequence(model: CpuTrainModel, s: TrainSequence, index: number): void {
  const { vocabSize: V, maxPositions } = model.config;
  const T = s.inputIds.length;
  if (T < 1) throw new RangeError(`batch sequence ${index} is empty`);
  if (s.labels.length !== T) throw new RangeError(`batch sequence ${index} has ${T} input ids but ${s.labels.length} labels`);
  if (T > maxPositions) throw new RangeError(`batch sequence ${index} has ${T} tokens, the model holds ${maxPositions} positions`);
  for (let t = 0; t < T; t++) {
    const id = s.inputIds[t];
    if (!(id >= 0 && id < V)) throw new RangeError(`batch sequence ${index}, position ${t}: token id ${id} is outside the vocabulary of ${V}`);
    const label = s.labels[t];
    if (label !== IGNORE_INDEX && !(label >= 0 && label < V)) {
      throw new RangeError(`batch sequence ${index}, position ${t}: label ${label} is neither ${IGNORE_INDEX} nor a token id below ${V}`);
    }
  }
}

/** The LoRA each layer's slots use for sequence `index`. */
function layerLoras(model: CpuTrainModel, adapter: CpuLoraAdapter, bindings: LayerBindings[], index: number, T: number, masks?: DropoutMasks): LayerLora[] {
  // One mask per module: the slots of one module (GPT-2's c_attn: q, k, v) share it.
  const moduleMasks = new Map<number, Float64Array | undefined>();
  const maskOf = (module: number): Float64Array | undefined => {
    if (!moduleMasks.has(module)) moduleMasks.set(module, masks?.(index, module));
    return moduleMasks.get(module);
  };
  return bindings.map((slots, l) => {
    const lora: LayerLora = {};
    for (const [slot, bound] of Object.entries(slots) as [LinearSlot, NonNullable<LayerBindings[LinearSlot]>][]) {
      const m = adapter.modules[bound.module];
      const w = model.layers[l].linears[slot];
      if (!w) throw new RangeError(`LoRA ${m.path}: layer ${l} has no ${slot} projection`);
      if (w.in !== m.inFeatures || w.out !== bound.rows[1] - bound.rows[0]) {
        throw new RangeError(`LoRA ${m.path}: slot ${slot} of layer ${l} is (${w.out}, ${w.in}), the module gives (${bound.rows[1] - bound.rows[0]}, ${m.inFeatures})`);
      }
      const mask = maskOf(bound.module);
      if (mask && mask.length !== T * m.inFeatures) {
        throw new RangeError(`dropout mask of ${m.path} for sequence ${index} has ${mask.length} values, expected T * in = ${T} * ${m.inFeatures}`);
      }
      lora[slot] = { a: m.a, b: m.b, rows: bound.rows, r: adapter.config.r, scale: adapter.scale, mask };
    }
    return lora;
  });
}

interface SequenceForward {
  loras: LayerLora[];
  layers: LayerSaved[];
  finalNorm: NormSaved;
  /** (T, V) the LM head's output / tau. */
  logits: Float64Array;
  tau: number;
}

function sequenceForward(model: CpuTrainModel, loras: LayerLora[], s: TrainSequence, tau: number): SequenceForward {
  const { hiddenSize: C, vocabSize: V } = model.config;
  const T = s.inputIds.length;
  let x: Float64Array = new Float64Array(T * C); // (T, C) residual stream
  if (model.positionEmbedding) {
    embeddingForward(x, s.inputIds, model.tokenEmbedding, C, model.positionEmbedding, Int32Array.from({ length: T }, (_, t) => t));
  } else {
    embeddingForward(x, s.inputIds, model.tokenEmbedding, C);
  }
  const layers: LayerSaved[] = [];
  model.layers.forEach((layer, l) => {
    const out = loraLayerForward(model, layer, loras[l], x, T);
    layers.push(out.saved);
    x = out.x;
  });
  const finalNorm = normForward(model.config, x, model.finalNorm, T);
  const logits = new Float64Array(T * V); // (T, V)
  addMatmulTransB(logits, finalNorm.out, model.lmHead, T, C, V);
  if (tau !== 1) for (let i = 0; i < logits.length; i++) logits[i] /= tau;
  return { loras, layers, finalNorm, logits, tau };
}

function prepare(model: CpuTrainModel, adapter: CpuLoraAdapter | null, batch: TrainBatch, masks: DropoutMasks | undefined): LayerBindings[] {
  if (batch.sequences.length === 0) throw new RangeError('the batch has no sequences');
  batch.sequences.forEach((s, i) => checkSequence(model, s, i));
  if (!adapter) return model.layers.map(() => ({}));
  if (adapter.config.dropout > 0 && !masks) throw new RangeError(`lora_dropout is ${adapter.config.dropout}: the CPU reference needs explicit dropoutMasks`);
  return bindAdapter(adapter, model.layers.length);
}

/** log p(labels[t]) at every position of one sequence's forward (0 where the label is ignored). */
function sequenceLogps(model: CpuTrainModel, f: SequenceForward, labels: Int32Array): Float64Array {
  const T = labels.length;
  const rowLoss = new Float64Array(T);
  crossEntropyForward(rowLoss, f.logits, labels, T, model.config.vocabSize);
  return rowLoss.map((x) => -x);
}

function forwardOf(model: CpuTrainModel, adapter: CpuLoraAdapter | null, bindings: LayerBindings[], s: TrainSequence, i: number, options: CpuLogpOptions): SequenceForward {
  const loras = adapter ? layerLoras(model, adapter, bindings, i, s.inputIds.length, options.dropoutMasks) : model.layers.map(() => ({}));
  return sequenceForward(model, loras, s, checkTemperature(options.temperature ?? 1));
}

/** Token log-probabilities log softmax(logits / temperature)[label] of every sequence, with `adapter` (null: the base model alone). */
export function cpuTokenLogps(model: CpuTrainModel, adapter: CpuLoraAdapter | null, batch: TrainBatch, options: CpuLogpOptions = {}): TokenLogps {
  const bindings = prepare(model, adapter, batch, options.dropoutMasks);
  return batch.sequences.map((s, i) => sequenceLogps(model, forwardOf(model, adapter, bindings, s, i, options), s.labels));
}

/**
 * The LoRA gradients of a loss given as a function of the token log-probabilities: every sequence's forward,
 * `tokenGrads(logps)` = d loss / d log p per token (an objective's), then the backward of each sequence
 * with d loss / d logits = -tokenGrad * (onehot - softmax(logits / tau)) / tau per row, down to every
 * adapted A and B.
 */
export function cpuLogpGrads(
  model: CpuTrainModel,
  adapter: CpuLoraAdapter,
  batch: TrainBatch,
  tokenGrads: (logps: TokenLogps) => Float64Array[],
  options: CpuLogpOptions = {},
): { logps: TokenLogps; grads: LoraGrads<Float64Array>[] } {
  const bindings = prepare(model, adapter, batch, options.dropoutMasks);
  const { hiddenSize: C, vocabSize: V } = model.config;
  const forwards = batch.sequences.map((s, i) => forwardOf(model, adapter, bindings, s, i, options));
  const logps = forwards.map((f, i) => sequenceLogps(model, f, batch.sequences[i].labels));
  const perToken = tokenGrads(logps);
  const grads = adapter.modules.map((m) => ({ a: new Float64Array(m.a.length), b: new Float64Array(m.b.length) }));
  batch.sequences.forEach((s, i) => {
    const T = s.inputIds.length;
    const f = forwards[i];
    // A row's loss is -log p: its gradient scale is d loss / d row loss = -d loss / d log p.
    const dLogits = new Float64Array(T * V);
    crossEntropyBackward(dLogits, f.logits, s.labels, T, V, perToken[i].map((g) => -g));
    // f.logits are z / tau: the chain to the LM head's output z is one more factor 1 / tau.
    if (f.tau !== 1) for (let j = 0; j < dLogits.length; j++) dLogits[j] /= f.tau;
    const dNormOut = new Float64Array(T * C);
    addMatmul(dNormOut, dLogits, model.lmHead, T, V, C);
    let dx: Float64Array = new Float64Array(T * C);
    normBackward(model.config, dx, dNormOut, model.finalNorm, f.finalNorm, T);
    for (let l = model.layers.length - 1; l >= 0; l--) {
      dx = loraLayerBackward(model, model.layers[l], f.loras[l], bindings[l], f.layers[l], dx, T, grads);
    }
    // The embeddings are frozen: the gradient stops at the first block's input.
  });
  return { logps, grads };
}

/** The objective's reference inputs for a batch: none, its precomputed sums, or the reference model's log-probabilities. */
export function cpuReferenceLogps(model: CpuTrainModel, reference: CpuLoraAdapter | null, batch: TrainBatch, needed: boolean, temperature = 1): TokenLogps | undefined {
  return needed && !batch.reference ? cpuTokenLogps(model, reference, batch, { temperature }) : undefined;
}

/** One micro-batch under an objective, in a step whose micro-batches sum to `totals`. */
export interface ObjectiveCall<T> {
  batch: TrainBatch;
  objective: TrainingObjective<unknown, T>;
  totals: T;
}

/** The frozen reference (null: the base model), and explicit dropout masks when the adapter has dropout. */
export interface CpuObjectiveOptions {
  reference?: CpuLoraAdapter | null;
  dropoutMasks?: DropoutMasks;
}

/** An objective's loss, its LoRA gradients and metrics on one micro-batch. */
export function cpuObjectiveLossAndGrads<T>(
  model: CpuTrainModel,
  adapter: CpuLoraAdapter,
  { batch, objective, totals }: ObjectiveCall<T>,
  options: CpuObjectiveOptions = {},
): { result: ObjectiveResult; logps: TokenLogps; reference?: TokenLogps; grads: LoraGrads<Float64Array>[] } {
  const temperature = objective.logitTemperature ?? 1;
  const reference = cpuReferenceLogps(model, options.reference ?? null, batch, objective.needsReference, temperature);
  let result: ObjectiveResult | undefined;
  const tokenGrads = (policy: TokenLogps) => (result = objective.evaluate({ batch, policy, reference }, totals)).tokenGrads;
  const { logps, grads } = cpuLogpGrads(model, adapter, batch, tokenGrads, { dropoutMasks: options.dropoutMasks, temperature });
  return { result: result!, logps, reference, grads };
}

/** The objective's loss alone (the same forward as cpuObjectiveLossAndGrads): what finite differences perturb. */
export function cpuObjectiveLoss<T>(model: CpuTrainModel, adapter: CpuLoraAdapter, { batch, objective, totals }: ObjectiveCall<T>, options: CpuObjectiveOptions = {}): number {
  const temperature = objective.logitTemperature ?? 1;
  const reference = cpuReferenceLogps(model, options.reference ?? null, batch, objective.needsReference, temperature);
  const policy = cpuTokenLogps(model, adapter, batch, { dropoutMasks: options.dropoutMasks, temperature });
  return objective.evaluate({ batch, policy, reference }, totals).loss;
}

/** SFT's loss: summed token cross-entropy over the trained labels / denominator (default: their count). */
function sftDenominator(batch: TrainBatch, options: CpuLossOptions): number {
  const denominator = options.denominator ?? trainedTokens(batch);
  if (!(denominator > 0)) {
    throw new RangeError(options.denominator === undefined ? 'the batch has no trained tokens (every label is ignored)' : `denominator must be positive, got ${denominator}`);
  }
  return denominator;
}

function labelledSum(batch: TrainBatch, logps: TokenLogps): number {
  let sum = 0;
  batch.sequences.forEach((s, i) => s.labels.forEach((l, t) => l !== IGNORE_INDEX && (sum -= logps[i][t])));
  return sum;
}

/** The SFT loss alone (same forward as cpuLoraLossAndGrads). */
export function cpuLoraLoss(model: CpuTrainModel, adapter: CpuLoraAdapter, batch: TrainBatch, options: CpuLossOptions = {}): number {
  const denominator = sftDenominator(batch, options);
  return labelledSum(batch, cpuTokenLogps(model, adapter, batch, options)) / denominator;
}

/** The SFT loss and d loss / d (A, B) of every adapter module, in float64. */
export function cpuLoraLossAndGrads(model: CpuTrainModel, adapter: CpuLoraAdapter, batch: TrainBatch, options: CpuLossOptions = {}): CpuLossAndGrads {
  const denominator = sftDenominator(batch, options);
  const tokenGrads = () => batch.sequences.map((s) => Float64Array.from(s.labels, (l) => (l === IGNORE_INDEX ? 0 : -1 / denominator)));
  const { logps, grads } = cpuLogpGrads(model, adapter, batch, tokenGrads, options);
  const lossSum = labelledSum(batch, logps);
  return { loss: lossSum / denominator, lossSum, trainedTokens: trainedTokens(batch), grads };
}
