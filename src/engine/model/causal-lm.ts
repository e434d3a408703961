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
