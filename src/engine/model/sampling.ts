// Picks the next token from one position's logits, in the order transformers applies its processors:
// repetition penalty, then (when sampling) temperature, top-k, top-p, and a draw from the seeded Rng.

import type { Rng } from '../util/rng';
import type { SamplingOptions } from './generation-options';

/** Full-vocabulary sort above this k (insertion into a sorted top list is cheaper below it). */
const INSERTION_TOP_K = 256;

/** The options with sampleToken's defaults filled in; throws a RangeError naming a bad value. */
export function checkSamplingOptions(options: Partial<SamplingOptions>): SamplingOptions {
  const o: SamplingOptions = {
    temperature: options.temperature ?? 1,
    topK: options.topK ?? 0,
    topP: options.topP ?? 1,
    repetitionPenalty: options.repetitionPenalty ?? 1,
    doSample: options.doSample ?? true,
  };
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw new RangeError(`temperature must be a number >= 0, got ${o.temperature}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new RangeError(`top-k must be an integer >= 0 (0 = off), got ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new RangeError(`top-p must be in (0, 1] (1 = off), got ${o.topP}`);
  if (!(o.repetitionPenalty > 0) || !Number.isFinite(o.repetitionPenalty)) {
    throw new RangeError(`repetition penalty must be a positive number (1 = off), got ${o.repetitionPenalty}`);
  }
  return o;
}

/**
 * Logits holding NaN or +Infinity: the forward pass broke down, and any token chosen from them (argmax
 * would answer token 0 for NaN) is garbage. `where` says which sequence and step, when known.
 */
export class NonFiniteLogitsError extends RangeError {
  override readonly name = 'NonFiniteLogitsError';
  constructor(
    readonly tokenId: number,
    readonly value: number,
    readonly where?: string,
  ) {
    super(
      `${where ? `${where}: ` : ''}the logits hold ${value} for token id ${tokenId}, so no next token can be chosen: ` +
        "the model's forward pass produced a number that is not finite (an overflow, or damaged weights)",
    );
  }

  /** The same error, saying where it happened. */
  at(where: string): NonFiniteLogitsError {
    return new NonFiniteLogitsError(this.tokenId, this.value, where);
  }
}

/** First index holding NaN or +Infinity, or -1. */
function firstNonFiniteLogit(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!(values[i] < Infinity)) return i;
  return -1;
}

/** Index of the largest value; the lowest index wins ties. Throws NonFiniteLogitsError at a NaN or +Infinity. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v < Infinity)) throw new NonFiniteLogitsError(i, v);
    if (v > values[best]) best = i;
  }
  return best;
}

/** HF repetition penalty: each token seen before has its logit divided by `penalty` if > 0, else multiplied. */
export function applyRepetitionPenalty(logits: Float32Array, penalty: number, history: Iterable<number>): Float32Array {
  if (penalty === 1) return logits;
  const out = logits.slice();
  for (const id of new Set(history)) {
    if (id < 0 || id >= logits.length) continue;
    const v = logits[id];
    out[id] = v > 0 ? v / penalty : v * penalty;
  }
  return out;
}

/** The k highest-scoring indices, best first (ties: lower index first). */
function topKIndices(scores: Float32Array, k: number): number[] {
  if (k > INSERTION_TOP_K) return sortedByScore(scores, Array.from(scores.keys())).slice(0, k);
  const top: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (top.length === k && !(s > scores[top[k - 1]])) continue;
    let at = top.length;
    while (at > 0 && s > scores[top[at - 1]]) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  return top;
}

function sortedByScore(scores: Float32Array, indices: number[]): number[] {
  return indices.sort((a, b) => scores[b] - scores[a] || a - b);
}

/** Draws from `weights` (summing to `total`): an id of `indices`, or the weight index itself without them. */
function draw(weights: Float64Array, total: number, rng: Rng, indices?: readonly number[]): number {
  let u = rng.next() * total;
  const n = indices ? indices.length : weights.length;
  for (let j = 0; j < n; j++) {
    u -= weights[j];
    if (u < 0) return indices ? indices[j] : j;
  }
  return indices ? indices[n - 1] : n - 1; // rounding left u a hair above 0
}

/** Entropy of softmax(scores / temperature) over the whole vocabulary, in nats. */
export function entropyAt(scores: Float32Array, temperature: number): number {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  let z = 0;
  let zx = 0;
  for (let i = 0; i < scores.length; i++) {
    const x = (scores[i] - max) / temperature;
    const e = Math.exp(x);
    z += e;
    zx += e * x;
  }
  return Math.log(z) - zx / z;
}

/** What a draw can report besides its token. */
export interface SampleStats {
  /** Entropy (nats) of the distribution the token was drawn from before top-k / top-p: softmax(scores / T). */
  entropy: number;
}

function sample(scores: Float32Array, o: SamplingOptions, rng: Rng, stats?: SampleStats): number {
  const V = scores.length;
  const invT = 1 / o.temperature;
  let candidates: number[] | undefined;
  if (o.topK > 0 && o.topK < V) {
    // The top-k walk skips NaN (no comparison holds), so it would sample around a broken forward pass.
    const bad = firstNonFiniteLogit(scores);
    if (bad >= 0) throw new NonFiniteLogitsError(bad, scores[bad]);
    candidates = topKIndices(scores, o.topK);
  }

  let max = -Infinity;
  if (candidates) max = scores[candidates[0]];
  else for (let i = 0; i < V; i++) if (scores[i] > max) max = scores[i];
  const n = candidates ? candidates.length : V;
  const weights = new Float64Array(n);
  let total = 0;
  // Sum of weight x scaled logit: with the total it gives the entropy without another pass over the vocabulary.
  let weightedX = 0;
  for (let j = 0; j < n; j++) {
    const x = (scores[candidates ? candidates[j] : j] - max) * invT;
    weights[j] = Math.exp(x);
    total += weights[j];
    weightedX += weights[j] * x;
  }
  if (!(total > 0) || !Number.isFinite(total)) {
    const bad = Math.max(0, firstNonFiniteLogit(scores)); // every logit -Infinity: token 0 is as good an example as any
    throw new NonFiniteLogitsError(bad, scores[bad]);
  }
  if (stats) stats.entropy = candidates ? entropyAt(scores, o.temperature) : Math.log(total) - weightedX / total;
  if (o.topP >= 1) return draw(weights, total, rng, candidates);

  // Nucleus: the most probable tokens until their probability reaches p. A token with probability below
  // (1 - p) / V always lies in the dropped tail (all of them together weigh less than 1 - p), so only the
  // rest needs sorting.
  if (!candidates) {
    const floor = (total * (1 - o.topP)) / V;
    const kept: number[] = [];
    for (let i = 0; i < V; i++) if (weights[i] >= floor) kept.push(i);
    candidates = sortedByScore(scores, kept);
  }
  const ordered = candidates.map((id) => Math.exp((scores[id] - max) * invT));
  const nucleus: number[] = [];
  let mass = 0;
  for (let j = 0; j < candidates.length && (j === 0 || mass < o.topP * total); j++) {
    nucleus.push(candidates[j]);
    mass += ordered[j];
  }
  return draw(Float64Array.from(ordered.slice(0, nucleus.length)), mass, rng, nucleus);
}

/**
 * The next token for one sequence. `history` = the prompt and the tokens generated so far (for the
 * repetition penalty). Greedy (argmax, lowest index on ties) when temperature is 0 or doSample is false;
 * otherwise one draw from `rng`, so the same seed gives the same tokens on every backend. `stats` receives
 * the sampled distribution's entropy (not written when greedy).
 */
export function sampleToken(logits: Float32Array, options: Partial<SamplingOptions>, rng: Rng, history: Iterable<number> = [], stats?: SampleStats): number {
  const o = checkSamplingOptions(options);
  const scores = applyRepetitionPenalty(logits, o.repetitionPenalty, history);
  if (!o.doSample || o.temperature === 0) return argmax(scores);
  return sample(scores, o, rng, stats);
}
