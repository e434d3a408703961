// Small CausalLm implementations for testing the generation loop without a real network:
// - FakeLm: logits are any function of the sequence's tokens so far (its "cache" is the token list), and
//   every call is recorded, so tests can check batching, capacities and releases;
// - RecomputingLm: wraps a real model and answers every extend by running the WHOLE sequence through a fresh
//   sequence of the inner model (no KV cache reuse): the reference for "KV cache = recomputation".

import type { CausalLm, ExtendRequest, LogitsWanted, SequenceState } from '../../src/engine/model/causal-lm';
import { parseModelConfig, type ModelConfig } from '../../src/engine/model/config';

class FakeSequence implements SequenceState {
  readonly tokens: number[] = [];
  released = false;
  constructor(readonly capacity: number) {}
  get length(): number {
    return this.tokens.length;
  }
}

export interface RecordedCall {
  wanted: LogitsWanted;
  /** Per request: the tokens fed and the sequence's length before them. */
  requests: { tokens: number[]; before: number }[];
}

/** (V) next-token logits for a sequence whose tokens so far are `history`. */
export type NextLogits = (history: readonly number[]) => Float32Array;

export function fakeConfig(vocabSize: number, maxPositions = 64): ModelConfig {
  return parseModelConfig({
    model_type: 'llama',
    hidden_size: 8,
    intermediate_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    vocab_size: vocabSize,
    max_position_embeddings: maxPositions,
    bos_token_id: 1,
    eos_token_id: 2,
  });
}

export class FakeLm implements CausalLm {
  readonly calls: RecordedCall[] = [];
  readonly sequences: FakeSequence[] = [];
  /** Throw from the extend call with this index (0 = prefill). */
  failAtCall: number | undefined;

  constructor(
    readonly config: ModelConfig,
    private readonly next: NextLogits,
  ) {}

  createSequence(capacity: number): SequenceState {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > this.config.maxPositions) throw new RangeError(`bad capacity ${capacity}`);
    const s = new FakeSequence(capacity);
    this.sequences.push(s);
    return s;
  }

  async extend(requests: readonly ExtendRequest[], wanted: LogitsWanted): Promise<Float32Array[]> {
    if (this.calls.length === this.failAtCall) throw new Error('device lost (fake)');
    this.calls.push({ wanted, requests: requests.map((r) => ({ tokens: Array.from(r.tokens), before: r.sequence.length })) });
    return requests.map((r) => {
      const s = r.sequence as FakeSequence;
      if (s.released) throw new Error('extend on a released sequence');
      if (s.length + r.tokens.length > s.capacity) throw new RangeError(`sequence over capacity (${s.length} + ${r.tokens.length} > ${s.capacity})`);
      const rows: Float32Array[] = [];
      for (const t of Array.from(r.tokens)) {
        s.tokens.push(t);
        rows.push(this.next(s.tokens));
      }
      if (wanted === 'last') return rows.at(-1)!;
      const V = this.config.vocabSize;
      const all = new Float32Array(rows.length * V);
      rows.forEach((row, i) => all.set(row, i * V));
      return all;
    });
  }

  releaseSequence(sequence: SequenceState): void {
    const s = sequence as FakeSequence;
    if (s.released) throw new Error('sequence released twice');
    s.released = true;
  }

  dispose(): void {}

  get liveSequences(): number {
    return this.sequences.filter((s) => !s.released).length;
  }
}

/**
 * Logits that make greedy decoding follow fixed token scripts: a history that is a prefix of a script
 * predicts the script's next token (logit 10 vs 0); past the end of its script, `fallback`.
 */
export function scripted(vocabSize: number, scripts: readonly (readonly number[])[], fallback: number): NextLogits {
  return (history) => {
    const logits = new Float32Array(vocabSize);
    const script = scripts.find((s) => s.length > history.length && history.every((t, i) => s[i] === t));
    logits[script ? script[history.length] : fallback] = 10;
    return logits;
  };
}

/** A bigram table: logits depend only on the last token (rows from a seeded table). */
export function bigram(vocabSize: number, table: Float32Array): NextLogits {
  return (history) => table.slice(history.at(-1)! * vocabSize, (history.at(-1)! + 1) * vocabSize);
}

/** Every extend recomputes the whole sequence so far on a fresh sequence of `inner` (no cache reuse). */
export class RecomputingLm implements CausalLm {
  private readonly histories = new Map<SequenceState, number[]>();

  constructor(private readonly inner: CausalLm) {}

  get config(): ModelConfig {
    return this.inner.config;
  }

  createSequence(capacity: number): SequenceState {
    const state = { length: 0, capacity };
    this.histories.set(state, []);
    return state;
  }

  async extend(requests: readonly ExtendRequest[], wanted: LogitsWanted): Promise<Float32Array[]> {
    if (wanted !== 'last') throw new Error('RecomputingLm answers only "last"');
    const fresh = requests.map((r) => {
      const history = this.histories.get(r.sequence)!;
      history.push(...Array.from(r.tokens));
      (r.sequence as { length: number }).length = history.length;
      return { sequence: this.inner.createSequence(history.length), tokens: [...history] };
    });
    try {
      return await this.inner.extend(fresh, 'last');
    } finally {
      for (const f of fresh) this.inner.releaseSequence(f.sequence);
    }
  }

  releaseSequence(sequence: SequenceState): void {
    this.histories.delete(sequence);
  }

  dispose(): void {}
}
