// The CPU training reference's loss and LoRA gradients, in float64: each sequence of the batch runs the
// whole model on its own (positions from 0, causal attention within it), the loss is the sum of per-token
// cross-entropies over trained labels divided by `denominator`, and the backward runs by hand down to the
// LoRA A and B of every adapted slot (the base is frozen: no base gradients exist).
//
//   embedding (+ learned positions) -> L x block (cpu-lora-layer.ts) -> final norm -> LM head -> CE

import { crossEntropyBackward, crossEntropyForward } from '../../ops/cpu/cross-entropy';
import { embeddingForward } from '../../ops/cpu/embedding';
import type { LinearSlot } from '../../lora/lora-config';
import { IGNORE_INDEX, trainedTokens, type LoraGrads, type TrainBatch, type TrainSequence } from '../train-batch';
import { bindAdapter, type CpuLoraAdapter, type LayerBindings } from './cpu-lora-adapter';
import { loraLayerBackward, loraLayerForward, normBackward, normForward, type LayerLora, type LayerSaved, type NormSaved } from './cpu-lora-layer';
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
  /** (T, V) */
  logits: Float64Array;
}

function sequenceForward(model: CpuTrainModel, loras: LayerLora[], s: TrainSequence): SequenceForward {
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
  return { loras, layers, finalNorm, logits };
}

interface Prepared {
  bindings: LayerBindings[];
  denominator: number;
  trained: number;
}

function prepare(model: CpuTrainModel, adapter: CpuLoraAdapter, batch: TrainBatch, options: CpuLossOptions): Prepared {
  if (batch.sequences.length === 0) throw new RangeError('the batch has no sequences');
  batch.sequences.forEach((s, i) => checkSequence(model, s, i));
  if (adapter.config.dropout > 0 && !options.dropoutMasks) {
    throw new RangeError(`lora_dropout is ${adapter.config.dropout}: the CPU reference needs explicit dropoutMasks`);
  }
  const trained = trainedTokens(batch);
  const denominator = options.denominator ?? trained;
  if (!(denominator > 0)) {
    throw new RangeError(
      options.denominator === undefined ? 'the batch has no trained tokens (every label is ignored)' : `denominator must be positive, got ${denominator}`,
    );
  }
  return { bindings: bindAdapter(adapter, model.layers.length), denominator, trained };
}

/** Summed token losses of one sequence (writes nothing else). */
function sequenceLossSum(model: CpuTrainModel, f: SequenceForward, labels: Int32Array): number {
  const T = labels.length;
  return crossEntropyForward(new Float64Array(T), f.logits, labels, T, model.config.vocabSize).sum;
}

/** The loss alone (same forward as cpuLoraLossAndGrads). */
export function cpuLoraLoss(model: CpuTrainModel, adapter: CpuLoraAdapter, batch: TrainBatch, options: CpuLossOptions = {}): number {
  const p = prepare(model, adapter, batch, options);
  let sum = 0;
  batch.sequences.forEach((s, i) => {
    const loras = layerLoras(model, adapter, p.bindings, i, s.inputIds.length, options.dropoutMasks);
    sum += sequenceLossSum(model, sequenceForward(model, loras, s), s.labels);
  });
  return sum / p.denominator;
}

/** The loss and d loss / d (A, B) of every adapter module, in float64. */
export function cpuLoraLossAndGrads(model: CpuTrainModel, adapter: CpuLoraAdapter, batch: TrainBatch, options: CpuLossOptions = {}): CpuLossAndGrads {
  const p = prepare(model, adapter, batch, options);
  const { hiddenSize: C, vocabSize: V } = model.config;
  const grads = adapter.modules.map((m) => ({ a: new Float64Array(m.a.length), b: new Float64Array(m.b.length) }));
  let sum = 0;
  batch.sequences.forEach((s, i) => {
    const T = s.inputIds.length;
    const loras = layerLoras(model, adapter, p.bindings, i, T, options.dropoutMasks);
    const f = sequenceForward(model, loras, s);
    sum += sequenceLossSum(model, f, s.labels);

    // d loss / d logits = (softmax - onehot) / denominator on trained rows, then back through the LM head.
    const dLogits = new Float64Array(T * V);
    crossEntropyBackward(dLogits, f.logits, s.labels, T, V, 1 / p.denominator);
    const dNormOut = new Float64Array(T * C);
    addMatmul(dNormOut, dLogits, model.lmHead, T, V, C);
    let dx: Float64Array = new Float64Array(T * C);
    normBackward(model.config, dx, dNormOut, model.finalNorm, f.finalNorm, T);
    for (let l = model.layers.length - 1; l >= 0; l--) {
      dx = loraLayerBackward(model, model.layers[l], loras[l], p.bindings[l], f.layers[l], dx, T, grads);
    }
    // The embeddings are frozen: the gradient stops at the first block's input.
  });
  return { loss: sum / p.denominator, lossSum: sum, trainedTokens: p.trained, grads };
}
