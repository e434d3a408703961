// The CPU reference of a causal LM (Llama, Qwen2, GPT-2): plain loops in float64 over the checkpoint's f32
// weights, with a per-sequence KV cache. It is slow and exact; the GPU engine and the generation code are
// checked against it.
//
//   embedding (+ GPT-2's learned positions) -> L x block (cpu-layer.ts) -> final norm -> LM head (V, C)

import { embeddingForward } from '../ops/cpu/embedding';
import {
  checkExtendRequest,
  planLengths,
  type ExtendRequest,
  type LogitsWanted,
  type ScorePlan,
  type ScoringLm,
  type SequenceState,
  type TokenScores,
} from './causal-lm';
import type { ModelConfig } from './config';
import { blockForward, normForward, type LayerCache } from './cpu-layer';
import { readCpuModel, type CpuModel } from './cpu-weights';
import { scoreRows } from './cpu-scores';
import type { ModelWeights } from './weights';

class CpuSequence implements SequenceState {
  length = 0;
  released = false;
  /** One (capacity, Hkv, D) key and value cache per layer. */
  readonly caches: LayerCache[];

  constructor(
    readonly owner: CpuCausalLm,
    readonly capacity: number,
    layers: number,
    rowSize: number,
  ) {
    this.caches = Array.from({ length: layers }, () => ({
      k: new Float64Array(capacity * rowSize),
      v: new Float64Array(capacity * rowSize),
    }));
  }
}

export class CpuCausalLm implements ScoringLm {
  /** The checkpoint's f32 weights, read once. */
  private readonly model: CpuModel<Float32Array>;

  constructor(
    readonly config: ModelConfig,
    weights: ModelWeights,
  ) {
    this.model = readCpuModel(config, weights, (t) => t.read());
  }

  createSequence(capacity: number): SequenceState {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > this.config.maxPositions) {
      throw new RangeError(`sequence capacity must be an integer in [1, ${this.config.maxPositions}] (max_position_embeddings), got ${capacity}`);
    }
    const { numLayers, numKvHeads, headDim } = this.config;
    return new CpuSequence(this, capacity, numLayers, numKvHeads * headDim);
  }

  async extend(requests: readonly ExtendRequest[], wanted: LogitsWanted): Promise<Float32Array[]> {
    // Every request is checked before any cache changes, so a bad request leaves all sequences as they were.
    const sequences = requests.map((r, i) => this.validate(r, i));
    if (new Set(sequences).size !== sequences.length) throw new Error('extend: a sequence appears in more than one request');
    return requests.map((r, i) => {
      const tokens = Array.from(r.tokens);
      return Float32Array.from(this.forward(sequences[i], tokens, wanted === 'last' ? 1 : tokens.length));
    });
  }

  /** The plan in float64: prefill, forks (cache rows copied), then each scored row's exact log-softmax. */
  async score(plan: ScorePlan): Promise<TokenScores[]> {
    for (const r of [...plan.prefill, ...plan.score]) this.own(r.sequence);
    for (const f of plan.forks) [f.source, f.target].forEach((s) => this.own(s));
    planLengths(this.config, plan);
    for (const r of plan.prefill) this.forward(this.own(r.sequence), Array.from(r.tokens), 0);
    for (const { source, target } of plan.forks) {
      const from = this.own(source);
      const to = this.own(target);
      const n = from.length * this.config.numKvHeads * this.config.headDim;
      from.caches.forEach((c, l) => {
        to.caches[l].k.set(c.k.subarray(0, n));
        to.caches[l].v.set(c.v.subarray(0, n));
      });
      to.length = from.length;
    }
    return plan.score.map((r) => {
      const logits = this.forward(this.own(r.sequence), Array.from(r.tokens), r.targets.length);
      return scoreRows(logits, r.targets, this.config.vocabSize);
    });
  }

  rewindSequence(sequence: SequenceState, length: number): void {
    const s = this.own(sequence);
    if (!Number.isInteger(length) || length < 0 || length > s.length) throw new RangeError(`rewindSequence: length must be an integer in [0, ${s.length}], got ${length}`);
    s.length = length;
  }

  releaseSequence(sequence: SequenceState): void {
    const s = this.own(sequence);
    s.released = true;
    s.caches.length = 0;
  }

  dispose(): void {
    // Nothing outside the JS heap to free.
  }

  private own(sequence: SequenceState): CpuSequence {
    if (!(sequence instanceof CpuSequence) || sequence.owner !== this) throw new Error('sequence was not created by this model');
    if (sequence.released) throw new Error('sequence was released');
    return sequence;
  }

  private validate(request: ExtendRequest, index: number): CpuSequence {
    const s = this.own(request.sequence);
    checkExtendRequest(this.config, request, index, s);
    return s;
  }

  /** Runs T new tokens of one sequence; returns the float64 (rows, V) logits of its last `rows` tokens. */
  private forward(s: CpuSequence, tokens: number[], rows: number): Float64Array {
    const { hiddenSize: C, vocabSize: V } = this.config;
    const T = tokens.length;
    const start = s.length;

    const { tokenEmbedding, positionEmbedding, layers, finalNorm, lmHead, invFreq } = this.model;
    let x: Float64Array = new Float64Array(T * C); // (T, C) residual stream
    if (positionEmbedding) {
      const positions = tokens.map((_, i) => start + i);
      embeddingForward(x, tokens, tokenEmbedding, C, positionEmbedding, positions);
    } else {
      embeddingForward(x, tokens, tokenEmbedding, C);
    }
    layers.forEach((layer, l) => {
      x = blockForward(this.config, layer, x, T, { invFreq, cache: { layer: s.caches[l], start } }).out;
    });
    s.length += T;

    // Final norm and LM head only on the rows whose logits are wanted.
    const first = T - rows;
    const h = normForward(this.config, x.subarray(first * C), finalNorm, rows).out;
    const logits = new Float64Array(rows * V);
    for (let t = 0; t < rows; t++) {
      for (let v = 0; v < V; v++) {
        let sum = 0;
        for (let c = 0; c < C; c++) sum += h[t * C + c] * lmHead[v * C + c];
        logits[t * V + v] = sum;
      }
    }
    return logits;
  }
}
