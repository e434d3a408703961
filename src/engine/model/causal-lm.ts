// The one interface generation, evaluation and the command line use to run a model, whether the CPU
// reference or the GPU engine computes it. A sequence owns its KV cache; `extend` appends tokens to
// sequences and returns logits, so prefill, decode steps and whole-sequence scoring are the same call.

import type { ModelConfig } from './config';

export interface SequenceState {
  /** Positions already in the cache. */
  readonly length: number;
  /** Positions the cache can hold. */
  readonly capacity: number;
}

export interface ExtendRequest {
  sequence: SequenceState;
  /** Token ids to append (at least one); length + tokens.length must not exceed capacity. */
  tokens: ArrayLike<number>;
}

/** 'last': (V) logits of each request's last new token; 'all': (T, V) for every new token. */
export type LogitsWanted = 'last' | 'all';

export interface CausalLm {
  readonly config: ModelConfig;
  /** An empty sequence whose cache holds up to `capacity` positions (at most config.maxPositions). */
  createSequence(capacity: number): SequenceState;
  /**
   * Runs the new tokens of every request through the model (the GPU engine records them all into one
   * submit) and returns one f32 logits array per request, in order.
   */
  extend(requests: readonly ExtendRequest[], wanted: LogitsWanted): Promise<Float32Array[]>;
  /** Frees a sequence's cache; the sequence must not be used again. */
  releaseSequence(sequence: SequenceState): void;
  /** Frees everything the model holds (GPU buffers). */
  dispose(): void;
}

/**
 * Checks one request of an extend() call against its sequence, before anything is recorded: tokens given,
 * room in the cache, every id inside the vocabulary. Errors name the request and position.
 */
export function checkExtendRequest(config: ModelConfig, request: ExtendRequest, index: number, sequence: SequenceState): void {
  const { tokens } = request;
  const V = config.vocabSize;
  if (tokens.length === 0) throw new RangeError(`extend: request ${index} has no tokens`);
  if (sequence.length + tokens.length > sequence.capacity) {
    throw new RangeError(`extend: request ${index} needs ${sequence.length + tokens.length} positions, the sequence holds ${sequence.capacity}`);
  }
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new RangeError(`extend: token id ${id} (request ${index}, position ${i}) is outside the vocabulary of ${V}`);
    }
  }
}

/** After a scoring pass's prefill, `target` (a sequence with room) holds a copy of `source`'s cached rows. */
export interface SequenceFork {
  source: SequenceState;
  target: SequenceState;
}

/**
 * New tokens for a sequence, of which the last `targets.length` positions are scored: the i-th of those
 * positions predicts targets[i] (so targets is usually the tokens shifted by one, plus the next token).
 */
export interface ScoreRequest {
  sequence: SequenceState;
  tokens: ArrayLike<number>;
  /** 1 to tokens.length ids. */
  targets: ArrayLike<number>;
}

/** Per scored position of one ScoreRequest. */
export interface TokenScores {
  /** log p(target | everything before it), natural log. */
  logProbs: Float64Array;
  /** 1 where the target is the largest logit of its row (a tie counts as the largest), else 0. */
  greedy: Uint8Array;
}

/**
 * One scoring pass, run in this order: `prefill` extends (no logits), then `forks` (cache rows copied),
 * then `score`. A sequence appears at most once in prefill and at most once in score; a fork's target is
 * in no prefill request and its source is not a fork target.
 */
export interface ScorePlan {
  prefill: readonly ExtendRequest[];
  forks: readonly SequenceFork[];
  score: readonly ScoreRequest[];
}

/**
 * A causal LM that scores tokens without returning whole (T, V) logits: evaluation's log-likelihoods.
 * The GPU engine records a whole plan into ONE submit and reads back 4 floats per scored position.
 */
export interface ScoringLm extends CausalLm {
  score(plan: ScorePlan): Promise<TokenScores[]>;
  /** Forgets the cached positions from `length` on, so the sequence (and its memory) can be reused. */
  rewindSequence(sequence: SequenceState, length: number): void;
}

/**
 * The sequence lengths a plan leaves, checked before anything runs (errors name the part and index): every
 * extend fits its sequence, forks copy into sequences with room, scored targets are in the vocabulary.
 */
export function planLengths(config: ModelConfig, plan: ScorePlan): Map<SequenceState, number> {
  const lengths = new Map<SequenceState, number>();
  const lengthOf = (s: SequenceState) => lengths.get(s) ?? s.length;
  const extendFits = (r: ExtendRequest, index: number, part: string, seen: Set<SequenceState>) => {
    if (seen.has(r.sequence)) throw new Error(`score: a sequence appears twice in ${part}`);
    seen.add(r.sequence);
    const at = { length: lengthOf(r.sequence), capacity: r.sequence.capacity };
    try {
      checkExtendRequest(config, r, index, at);
    } catch (err) {
      throw new RangeError(`score ${part}: ${(err as Error).message}`);
    }
    lengths.set(r.sequence, at.length + r.tokens.length);
  };
  if (plan.score.length === 0) throw new RangeError('score: the plan scores no request');
  const prefilled = new Set<SequenceState>();
  plan.prefill.forEach((r, i) => extendFits(r, i, 'prefill', prefilled));
  const forked = new Set<SequenceState>();
  plan.forks.forEach(({ source, target }, i) => {
    if (prefilled.has(target) || forked.has(target)) throw new Error(`score: fork ${i}'s target is also prefilled or forked to twice`);
    if (forked.has(source)) throw new Error(`score: fork ${i}'s source is itself a fork target`);
    const n = lengthOf(source);
    if (n > target.capacity) throw new RangeError(`score: fork ${i} copies ${n} positions into a sequence of ${target.capacity}`);
    forked.add(target);
    lengths.set(target, n);
  });
  const scored = new Set<SequenceState>();
  plan.score.forEach((r, i) => {
    const { targets, tokens } = r;
    if (targets.length < 1 || targets.length > tokens.length) {
      throw new RangeError(`score: request ${i} has ${targets.length} targets for ${tokens.length} tokens (1 to ${tokens.length})`);
    }
    for (let j = 0; j < targets.length; j++) {
      const t = targets[j];
      if (!Number.isInteger(t) || t < 0 || t >= config.vocabSize) throw new RangeError(`score: target ${t} (request ${i}, position ${j}) is outside the vocabulary of ${config.vocabSize}`);
    }
    extendFits(r, i, 'request', scored);
  });
  return lengths;
}
