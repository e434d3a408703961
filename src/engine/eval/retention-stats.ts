// Perplexity over a set of documents, and its change between two models on the same documents, with
// standard errors that treat the documents as the sampled units.
//
// Document i has n_i scored tokens and a summed negative log-likelihood a_i (natural log). The set's
// log-perplexity is the token-weighted mean l = sum a_i / sum n_i (a ratio of two sums, as in
// lm-evaluation-harness's weighted_perplexity), and perplexity = exp(l).
//
// Standard errors, by the delta method for a ratio estimator over K documents drawn at random
// (Cochran, Sampling Techniques, 6.3; n-bar = mean n_i):
//   se(l) = sqrt( sum_i (a_i - l n_i)^2 / (K (K - 1)) ) / n-bar,        se(perplexity) = perplexity se(l).
//
// The change from a base (a_i) to a model (b_i) on the same documents and tokens is paired per document:
//   d_i = b_i - a_i, change of log-perplexity D = sum d_i / sum n_i,
//   se(D) = sqrt( sum_i (d_i - D n_i)^2 / (K (K - 1)) ) / n-bar;
//   change of perplexity exp(l_b) - exp(l_a), linearised per document as
//     r_i = ppl_b (b_i - l_b n_i) - ppl_a (a_i - l_a n_i),   se = sqrt( sum r_i^2 / (K (K - 1)) ) / n-bar;
//   relative change exp(D) - 1, se = exp(D) se(D).
// The same paired ratio difference, with bytes as the weights and NLL / ln 2 as the numerators, gives the
// change of bits per byte (ratioChange).
// Pairing removes the documents' own difficulty from the error: a story that is hard for both models moves
// both sums together, so only the per-document change in NLL is noise. Needs K >= 2 for a standard error.

import type { MetricValue } from './suite-types';

/** One document's scored tokens and their summed NLL (nats); `bytes` of its UTF-8 text for bits per byte. */
export interface DocumentNll {
  nll: number;
  tokens: number;
  bytes?: number;
}

function checkDocs(docs: readonly DocumentNll[], what: string): void {
  if (docs.length === 0) throw new Error(`${what}: no documents scored`);
  for (const [i, d] of docs.entries()) {
    if (!(d.tokens > 0) || !Number.isFinite(d.nll)) throw new Error(`${what}: document ${i} has ${d.tokens} tokens and NLL ${d.nll}`);
  }
}

/** sqrt(sum r_i^2 / (K (K - 1))) / mean weight: the ratio estimator's standard error from its residuals. */
function residualStderr(residuals: readonly number[], weights: readonly number[]): number | undefined {
  const K = residuals.length;
  if (K < 2) return undefined;
  const meanWeight = weights.reduce((s, w) => s + w, 0) / K;
  const squares = residuals.reduce((s, r) => s + r * r, 0);
  return Math.sqrt(squares / (K * (K - 1))) / meanWeight;
}

const withStderr = (value: number, stderr: number | undefined): MetricValue => (stderr === undefined ? { value } : { value, stderr });

/** Token-weighted mean NLL (log-perplexity) with its standard error. */
export function logPerplexity(docs: readonly DocumentNll[]): MetricValue {
  checkDocs(docs, 'perplexity');
  const tokens = docs.map((d) => d.tokens);
  const l = docs.reduce((s, d) => s + d.nll, 0) / tokens.reduce((s, n) => s + n, 0);
  return withStderr(l, residualStderr(docs.map((d) => d.nll - l * d.tokens), tokens));
}

export function perplexity(docs: readonly DocumentNll[]): MetricValue {
  const l = logPerplexity(docs);
  const ppl = Math.exp(l.value);
  return withStderr(ppl, l.stderr === undefined ? undefined : ppl * l.stderr);
}

/** Bits per UTF-8 byte (the harness's bits_per_byte: sum NLL / (sum bytes ln 2)), documents weighted by bytes. */
export function bitsPerByte(docs: readonly DocumentNll[]): MetricValue {
  checkDocs(docs, 'bits per byte');
  const bytes = docs.map((d) => {
    if (d.bytes === undefined || d.bytes <= 0) throw new Error('bits per byte: a document has no byte count');
    return d.bytes;
  });
  const total = bytes.reduce((s, b) => s + b, 0);
  const bpb = docs.reduce((s, d) => s + d.nll, 0) / (total * Math.LN2);
  return withStderr(bpb, residualStderr(docs.map((d, i) => d.nll / Math.LN2 - bpb * bytes[i]), bytes));
}

/**
 * The paired change of a ratio of sums, sum(other) / sum(weights) - sum(base) / sum(weights), on the same
 * units with the same weights, with the linearised standard error.
 */
export function ratioChange(base: readonly number[], other: readonly number[], weights: readonly number[]): MetricValue {
  if (base.length !== other.length || base.length !== weights.length || base.length === 0) {
    throw new Error(`ratio change: ${base.length} base values, ${other.length} other values and ${weights.length} weights`);
  }
  const W = weights.reduce((s, w) => s + w, 0);
  const D = other.reduce((s, v) => s + v, 0) / W - base.reduce((s, v) => s + v, 0) / W;
  return withStderr(D, residualStderr(base.map((a, i) => other[i] - a - D * weights[i]), weights));
}

export interface PerplexityChange {
  /** exp(l_model) - exp(l_base). */
  perplexity: MetricValue;
  /** l_model - l_base (nats per token). */
  logPerplexity: MetricValue;
  /** perplexity_model / perplexity_base - 1. */
  relative: MetricValue;
  documents: number;
}

/** The paired change from `base` to `model` on the same documents (same order, same token counts). */
export function perplexityChange(base: readonly DocumentNll[], model: readonly DocumentNll[]): PerplexityChange {
  checkDocs(base, 'perplexity change (base)');
  checkDocs(model, 'perplexity change');
  if (base.length !== model.length) throw new Error(`perplexity change: the base scored ${base.length} documents, the model ${model.length}`);
  base.forEach((d, i) => {
    if (d.tokens !== model[i].tokens) throw new Error(`perplexity change: document ${i} has ${d.tokens} tokens for the base and ${model[i].tokens} for the model`);
  });
  const tokens = base.map((d) => d.tokens);
  const N = tokens.reduce((s, n) => s + n, 0);
  const la = base.reduce((s, d) => s + d.nll, 0) / N;
  const lb = model.reduce((s, d) => s + d.nll, 0) / N;
  const [pa, pb] = [Math.exp(la), Math.exp(lb)];
  const log = ratioChange(base.map((d) => d.nll), model.map((d) => d.nll), tokens);
  const [D, seD] = [log.value, log.stderr];
  const sePpl = residualStderr(base.map((a, i) => pb * (model[i].nll - lb * tokens[i]) - pa * (a.nll - la * tokens[i])), tokens);
  return {
    perplexity: withStderr(pb - pa, sePpl),
    logPerplexity: log,
    relative: withStderr(Math.exp(D) - 1, seD === undefined ? undefined : Math.exp(D) * seD),
    documents: base.length,
  };
}
