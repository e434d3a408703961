// Log-likelihood scoring of continuations, as lm-evaluation-harness's loglikelihood requests compute them
// (lm_eval/models/huggingface.py HFLM._loglikelihood_tokens, commit 4e7e0d4, lines 1329-1572): the model reads
// (context + continuation)[-(max_length + 1):][:-1], and the continuation's tokens are scored by the last
// len(continuation) positions: logLikelihood = sum of log_softmax(logits)[token] (a float64 sum here),
// greedy = every continuation token is its position's argmax.
//
// API (for the suites, the CLI and the studio):
//
//   scoreContinuations(lm, requests, options): Promise<ContinuationScore[][]>
//     requests[i] = { context: ids (non-empty, e.g. encodeContinuation's), continuations: ids[] (each non-empty) }
//     result[i][j] = { logLikelihood, tokens: continuations[j].length, greedy } for choice j of item i.
//     options.shareContext: true runs each item's context once and copies its KV rows to every choice
//       (the model reads context[:-1] once; each choice then reads [last context token, ...continuation[:-1]]);
//       false scores each choice as context + continuation from scratch (the harness's way, the baseline).
//       An item whose longest choice must be left-truncated (over maxLength) is scored from scratch either way.
//     options.batchTokens (default 2048): KV positions per batch (a batch is one lm.score call, ONE GPU submit);
//       options.batchItems: at most this many items per batch; an item larger than batchTokens gets a batch alone.
//     options.maxLength (default config.maxPositions): the harness's max_length.
//     options.signal: checked before every batch (throws its reason); options.onProgress(itemsDone, items).
//     options.sequences: a SequencePool of `lm` kept across calls (the caller releases it), so a runner that
//       calls once per batch reuses KV caches instead of allocating them per call; default: this call's own.
//
//   scoreTexts(lm, texts, options) (loglikelihood-rolling.ts): per text the summed log-likelihood of tokens
//     1..n-1 given the ones before, in the harness's disjoint rolling windows (perplexity, retention).
//
// `lm` is a ScoringLm: the float64 CpuCausalLm or the GpuCausalLm (which reads back 4 floats per scored
// position, never the logits). Items are batched in order; the scores do not depend on the batching beyond
// f32 summation order on the GPU.

import type { ScoreRequest, ScoringLm, SequenceFork, SequenceState, ExtendRequest } from '../model/causal-lm';

export interface ContinuationRequest {
  context: readonly number[];
  continuations: readonly (readonly number[])[];
}

export interface ContinuationScore {
  /** Sum over the continuation's tokens of log p(token | everything before it), natural log, float64 sum. */
  logLikelihood: number;
  /** The continuation's token count. */
  tokens: number;
  /** Every continuation token is the argmax of its position (the harness's is_greedy). */
  greedy: boolean;
}

export interface ScoreOptions {
  shareContext: boolean;
  batchTokens?: number;
  batchItems?: number;
  maxLength?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  sequences?: SequencePool;
}

export const DEFAULT_BATCH_TOKENS = 2048;

/** One choice as the model reads it: tokens appended after `past` shared positions, the last `targets` scored. */
interface ChoicePass {
  tokens: number[];
  targets: readonly number[];
}

/** One item's share of a scoring plan, before sequences are attached. */
interface ItemPlan {
  /** Shared context positions (context[:-1]) run once into choice 0's sequence; empty when not shared. */
  shared: number[];
  choices: ChoicePass[];
  /** KV positions the item's sequences hold in all. */
  positions: number;
}

/** The item's passes (see the file header); validates ids' shape, not their range (the model does). */
function planItem(request: ContinuationRequest, index: number, shareContext: boolean, maxLength: number): ItemPlan {
  const { context, continuations } = request;
  if (context.length === 0) throw new RangeError(`scoreContinuations: item ${index} has an empty context (condition on a prefix token, as encodeContinuation does)`);
  if (continuations.length === 0) throw new RangeError(`scoreContinuations: item ${index} has no continuations`);
  continuations.forEach((c, j) => {
    if (c.length === 0) throw new RangeError(`scoreContinuations: item ${index} choice ${j} has no tokens`);
    if (c.length > maxLength) throw new RangeError(`scoreContinuations: item ${index} choice ${j} has ${c.length} tokens, more than the ${maxLength} the model reads`);
  });
  const fits = continuations.every((c) => context.length + c.length - 1 <= maxLength);
  if (shareContext && fits) {
    const shared = context.slice(0, -1);
    const last = context[context.length - 1];
    const choices = continuations.map((c) => ({ tokens: [last, ...c.slice(0, -1)], targets: c }));
    return { shared, choices, positions: choices.reduce((n, c) => n + shared.length + c.tokens.length, 0) };
  }
  const choices = continuations.map((c) => {
    // The harness's left truncation: the last max_length + 1 tokens, less the final one.
    const whole = [...context, ...c].slice(-(maxLength + 1));
    return { tokens: whole.slice(0, -1), targets: c };
  });
  return { shared: [], choices, positions: choices.reduce((n, c) => n + c.tokens.length, 0) };
}

/** Sequences reused across batches by capacity (rounded up), so a long run does not allocate per choice. */
export class SequencePool {
  private readonly free = new Map<number, SequenceState[]>();
  private readonly lent: SequenceState[] = [];
  private readonly all: SequenceState[] = [];

  constructor(readonly lm: ScoringLm) {}

  acquire(positions: number): SequenceState {
    const capacity = Math.min(this.lm.config.maxPositions, Math.ceil(positions / 64) * 64);
    const reused = this.free.get(capacity)?.pop();
    let s: SequenceState;
    if (reused) {
      this.lm.rewindSequence(reused, 0);
      s = reused;
    } else {
      s = this.lm.createSequence(capacity);
      this.all.push(s);
    }
    this.lent.push(s);
    return s;
  }

  /** Every lent sequence is free again. */
  returnAll(): void {
    for (const s of this.lent) {
      let list = this.free.get(s.capacity);
      if (!list) this.free.set(s.capacity, (list = []));
      list.push(s);
    }
    this.lent.length = 0;
  }

  releaseAll(): void {
    for (const s of this.all) this.lm.releaseSequence(s);
    this.all.length = 0;
    this.free.clear();
    this.lent.length = 0;
  }
}

/** Consecutive items whose positions fit batchTokens (and batchItems). */
function batchesOf(plans: readonly ItemPlan[], batchTokens: number, batchItems: number): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let positions = 0;
  plans.forEach((p, i) => {
    if (current.length > 0 && (positions + p.positions > batchTokens || current.length >= batchItems)) {
      batches.push(current);
      current = [];
      positions = 0;
    }
    current.push(i);
    positions += p.positions;
  });
  if (current.length > 0) batches.push(current);
  return batches;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!(Number.isInteger(v) && v >= 1) && v !== Infinity) throw new RangeError(`scoreContinuations: ${name} must be a positive integer, got ${value}`);
  return v;
}

/** Scores every choice of every item; see the file header. */
export async function scoreContinuations(lm: ScoringLm, requests: readonly ContinuationRequest[], options: ScoreOptions): Promise<ContinuationScore[][]> {
  const batchTokens = positiveInteger(options.batchTokens, DEFAULT_BATCH_TOKENS, 'batchTokens');
  const batchItems = positiveInteger(options.batchItems, Infinity, 'batchItems');
  const maxLength = positiveInteger(options.maxLength, lm.config.maxPositions, 'maxLength');
  if (maxLength > lm.config.maxPositions) throw new RangeError(`scoreContinuations: maxLength ${maxLength} is over the model's ${lm.config.maxPositions} positions`);
  const plans = requests.map((r, i) => planItem(r, i, options.shareContext, maxLength));
  const results: ContinuationScore[][] = new Array(requests.length);
  if (options.sequences && options.sequences.lm !== lm) throw new Error('scoreContinuations: options.sequences belongs to another model');
  const pool = options.sequences ?? new SequencePool(lm);
  let done = 0;
  try {
    for (const batch of batchesOf(plans, batchTokens, batchItems)) {
      options.signal?.throwIfAborted();
      const prefill: ExtendRequest[] = [];
      const forks: SequenceFork[] = [];
      const score: ScoreRequest[] = [];
      for (const i of batch) {
        const { shared, choices } = plans[i];
        const sequences = choices.map((c) => pool.acquire(shared.length + c.tokens.length));
        if (shared.length > 0) {
          prefill.push({ sequence: sequences[0], tokens: shared });
          for (let j = 1; j < sequences.length; j++) forks.push({ source: sequences[0], target: sequences[j] });
        }
        choices.forEach((c, j) => score.push({ sequence: sequences[j], tokens: c.tokens, targets: c.targets }));
      }
      const scores = await lm.score({ prefill, forks, score });
      let k = 0;
      for (const i of batch) {
        results[i] = plans[i].choices.map(() => {
          const { logProbs, greedy } = scores[k++];
          let logLikelihood = 0;
          for (const lp of logProbs) logLikelihood += lp;
          return { logLikelihood, tokens: logProbs.length, greedy: greedy.every((g) => g === 1) };
        });
      }
      pool.returnAll();
      done += batch.length;
      options.onProgress?.(done, requests.length);
    }
  } finally {
    if (options.sequences) pool.returnAll();
    else pool.releaseAll();
  }
  return results;
}
