// The GPU engine's causal LM: weights uploaded once (gpu-weights.ts), a KV cache per sequence
// (kv-cache.ts), and `extend` recording every request's tokens into ONE step with ONE queue submit:
//
//   write ids and positions (2 small writeBuffers) -> embedding (+ learned positions)
//   -> L x block (gpu-inference-layer.ts) -> final norm (only the wanted rows) -> LM head -> read back the logits.
//
// A decode step of R sequences (one token each) therefore records, per layer, 2 norms, 7 projections
// (6 for GPT-2), 2 RoPEs (none for GPT-2), R attentions and the activation, plus 2R cache-row copies; then
// R row copies, one norm and one LM head matmul per head part, and one readback per part. Weights are never
// re-uploaded and the CPU work per step is proportional to the layers, tokens and logits, not to the
// weights. (With m = 1 row the matmuls are matrix-vector products; a dedicated GEMV variant would be the
// next speed-up on real GPUs.)

import type { GpuContext } from '../../gpu/context';
import type { StepEncoder } from '../../gpu/step-encoder';
import {
  checkExtendRequest,
  planLengths,
  type ExtendRequest,
  type LogitsWanted,
  type ScorePlan,
  type ScoringLm,
  type SequenceState,
  type TokenScores,
} from '../causal-lm';
import { scoresFromStats } from '../cpu-scores';
import type { ModelConfig } from '../config';
import { modelRopeFrequencies } from '../rope-frequencies';
import type { ModelWeights } from '../weights';
import type { RequestRows } from './gpu-inference-layer';
import { recordNorm } from './gpu-layer';
import { lmHead, type PendingLogits } from './gpu-linear';
import type { GpuLoraSlots } from './gpu-lora-slots';
import { uploadWeights, type GpuModelWeights, type GpuWeightOptions, type WeightFormat } from './gpu-weights';
import { GpuSequence } from './kv-cache';
import { recordScorePlan } from './gpu-score';
import { checkStepSize, placeRows, recordTrunk } from './gpu-trunk';

export type GpuModelOptions = GpuWeightOptions;

export class GpuCausalLm implements ScoringLm {
  private readonly sequences = new Set<GpuSequence>();
  private disposed = false;
  private lora: GpuLoraSlots | null = null;

  private constructor(
    readonly ctx: GpuContext,
    readonly config: ModelConfig,
    /** The uploaded weights (buffers, parts, format): read-only for users such as LoRA. */
    readonly weights: GpuModelWeights,
    /** (D / 2) f32 inverse RoPE frequencies; undefined for learned positions (read-only for training). */
    readonly invFreq: GPUBuffer | undefined,
  ) {}

  /** Uploads the weights (f16 by default) and returns the model. */
  static async create(ctx: GpuContext, config: ModelConfig, weights: ModelWeights, options: GpuModelOptions = {}): Promise<GpuCausalLm> {
    const uploaded = await uploadWeights(ctx, config, weights, options);
    const invFreq = config.positions === 'rope' ? ctx.upload(modelRopeFrequencies(config), 'rope inverse frequencies') : undefined;
    return new GpuCausalLm(ctx, config, uploaded, invFreq);
  }

  /** Bytes of weights on the GPU (without KV caches). */
  get weightBytes(): number {
    return this.weights.bytes;
  }

  get weightFormat(): WeightFormat {
    return this.weights.format;
  }

  /**
   * Every later extend computes each adapted slot as y = x W^T + b + scale * (x A^T) B[rows]^T (no dropout);
   * null returns to the base model. The adapter's buffers stay its owner's (the model never frees them).
   */
  setAdapter(adapter: GpuLoraSlots | null): void {
    this.assertLive();
    if (adapter) checkAdapterShapes(this.config, this.weights, adapter);
    this.lora = adapter;
  }

  get adapter(): GpuLoraSlots | null {
    return this.lora;
  }

  createSequence(capacity: number): SequenceState {
    this.assertLive();
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > this.config.maxPositions) {
      throw new RangeError(`sequence capacity must be an integer in [1, ${this.config.maxPositions}] (max_position_embeddings), got ${capacity}`);
    }
    const s = new GpuSequence(this.ctx, this.config, this, capacity);
    this.sequences.add(s);
    return s;
  }

  async extend(requests: readonly ExtendRequest[], wanted: LogitsWanted): Promise<Float32Array[]> {
    this.assertLive();
    if (wanted !== 'last' && wanted !== 'all') throw new RangeError(`extend: wanted must be 'last' or 'all', got ${String(wanted)}`);
    if (requests.length === 0) return [];
    // Every request is checked before anything is recorded, so a bad one leaves all sequences as they were.
    const sequences = requests.map((r, i) => this.validate(r, i));
    if (new Set(sequences).size !== sequences.length) throw new Error('extend: a sequence appears in more than one request');

    const { rows, total: N } = placeRows(requests.map((r, i) => ({ tokens: r.tokens, past: sequences[i].length, caches: sequences[i].layers })));
    checkStepSize(this.ctx, this.config, N);

    const step = this.ctx.step();
    const pending = this.record(step, requests, rows, N, wanted);
    for (const s of sequences) s.busy = true;
    try {
      await step.submit();
    } finally {
      for (const s of sequences) s.busy = false;
    }
    rows.forEach((r, i) => sequences[i].advance(r.count));

    const logits = await pending.read();
    const V = this.config.vocabSize;
    if (requests.length === 1) return [logits];
    return rows.map((r, i) => (wanted === 'last' ? logits.slice(i * V, (i + 1) * V) : logits.slice(r.start * V, (r.start + r.count) * V)));
  }

  /**
   * The whole plan in ONE submit (gpu-score.ts): prefill, cache forks, scored requests; reads back 4 floats
   * per scored position, never the logits.
   */
  async score(plan: ScorePlan): Promise<TokenScores[]> {
    this.assertLive();
    const all = [...plan.prefill.map((r) => r.sequence), ...plan.forks.flatMap((f) => [f.source, f.target]), ...plan.score.map((r) => r.sequence)];
    const sequences = new Set(all.map((s) => this.own(s)));
    for (const s of sequences) if (s.busy) throw new Error('score: a sequence is already being extended (await the previous call)');
    const lengths = planLengths(this.config, plan);

    const step = this.ctx.step();
    const pending = recordScorePlan(step, this, plan, (s) => this.own(s));
    for (const s of sequences) s.busy = true;
    try {
      await step.submit();
    } finally {
      for (const s of sequences) s.busy = false;
    }
    for (const [s, length] of lengths) this.own(s).setLength(length);

    const stats = new Float32Array(await pending.stats.data());
    return pending.ranges.map(({ first, count }) => scoresFromStats(stats.subarray(first * 4, (first + count) * 4), count));
  }

  rewindSequence(sequence: SequenceState, length: number): void {
    const s = this.own(sequence);
    if (s.busy) throw new Error('rewindSequence: the sequence is being extended');
    if (!Number.isInteger(length) || length < 0 || length > s.length) throw new RangeError(`rewindSequence: length must be an integer in [0, ${s.length}], got ${length}`);
    s.setLength(length);
  }

  releaseSequence(sequence: SequenceState): void {
    const s = this.own(sequence);
    if (s.busy) throw new Error('releaseSequence: the sequence is being extended');
    s.release();
    this.sequences.delete(s);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.sequences) s.release();
    this.sequences.clear();
    for (const b of this.weights.buffers) b.destroy();
    this.invFreq?.destroy();
  }

  /** Records the whole forward of N rows; returns the logits to read after the submit. */
  private record(step: StepEncoder, requests: readonly ExtendRequest[], rows: readonly RequestRows[], N: number, wanted: LogitsWanted): PendingLogits {
    const { config, weights } = this;
    const C = config.hiddenSize;
    const s = recordTrunk(step, this, requests, rows, N);

    // Final norm and LM head only on the rows whose logits are wanted.
    let source = s.x;
    let outRows = N;
    if (wanted === 'last') {
      source = step.temp(rows.length * C * 4, 'last rows');
      rows.forEach((r, i) => step.copy(s.x, (r.start + r.count - 1) * C * 4, source, i * C * 4, C * 4));
      outRows = rows.length;
    }
    // The layers' normed-input scratch (h1 and h2 are one buffer) holds the final norm's output too.
    recordNorm(step, config, s.h2, source, weights.finalNorm, outRows, s.mlpStats);
    return lmHead(step, s.h2, weights.lmHead, outRows, weights.maxBindingBytes);
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('the model was disposed');
  }

  private own(sequence: SequenceState): GpuSequence {
    this.assertLive();
    if (!(sequence instanceof GpuSequence) || sequence.owner !== this) throw new Error('sequence was not created by this model');
    if (sequence.released) throw new Error('sequence was released');
    return sequence;
  }

  private validate(request: ExtendRequest, index: number): GpuSequence {
    const s = this.own(request.sequence);
    if (s.busy) throw new Error(`extend: request ${index}'s sequence is already being extended (await the previous call)`);
    checkExtendRequest(this.config, request, index, s);
    return s;
  }
}

/** Every adapted slot must exist in the model with the adapter's in / out widths. */
export function checkAdapterShapes(config: ModelConfig, weights: GpuModelWeights, adapter: GpuLoraSlots): void {
  if (adapter.layers.length > config.numLayers) {
    throw new RangeError(`the adapter has LoRA for ${adapter.layers.length} layers, the model ${config.numLayers}`);
  }
  adapter.layers.forEach((slots, l) => {
    for (const [slot, lora] of Object.entries(slots)) {
      const w = weights.layers[l][slot as keyof typeof slots];
      if (!w) throw new RangeError(`the adapter targets ${slot} of layer ${l}, which this model does not have`);
      if (w.cols !== lora.inFeatures || w.rows !== lora.outFeatures) {
        throw new RangeError(`LoRA of layer ${l} ${slot} is (${lora.outFeatures}, ${lora.inFeatures}), the weight (${w.rows}, ${w.cols})`);
      }
    }
  });
}
