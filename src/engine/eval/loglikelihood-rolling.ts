// Whole-text log-likelihood (perplexity, retention) in lm-evaluation-harness's rolling windows
// (lm_eval/utils.py get_rolling_token_windows and make_disjoint_window, lines 331-379, as
// HFLM.loglikelihood_rolling calls them with context_len = 1, lm_eval/models/huggingface.py lines 1226-1252):
//
//   scoreTexts(lm, texts, options): Promise<TextScore[]>
//     texts[i] = ids t_0 .. t_{n-1} (n >= 1); result[i] = { logLikelihood: sum over k = 1..n-1 of
//     log p(t_k | t_0 .. t_{k-1}) (float64 sum), tokens: n - 1 }. t_0 plays the harness's prefix token: to
//     reproduce loglikelihood_rolling on a string exactly, pass [prefixTokenId, ...tok_encode(string)].
//     A text longer than maxLength + 1 is cut into windows: the first predicts t_1 .. t_maxLength from t_0 on;
//     each next one predicts the following (up to) maxLength tokens from the maxLength + 1 - (its length)
//     tokens just before them plus its own, so every token is predicted once, with as much context as fits.
//     Windows are scored as single-choice items (options as scoreContinuations, shareContext has no effect).

import { scoreContinuations, type ContinuationRequest, type ScoreOptions } from './loglikelihood';
import type { ScoringLm } from '../model/causal-lm';

export interface TextScore {
  logLikelihood: number;
  /** Tokens scored: the text's length less its first token. */
  tokens: number;
}

/** The disjoint (context, continuation) windows of get_rolling_token_windows(tokens, prefix, maxLength, 1). */
export function rollingWindows(prefix: number, tokens: readonly number[], maxLength: number): ContinuationRequest[] {
  const windows: ContinuationRequest[] = [];
  if (tokens.length === 0) return windows;
  const disjoint = (input: readonly number[], predicted: readonly number[]) => {
    windows.push({ context: input.slice(0, input.length - (predicted.length - 1)), continuations: [predicted] });
  };
  const first = Math.min(maxLength, tokens.length);
  disjoint([prefix, ...tokens.slice(0, first - 1)], tokens.slice(0, first));
  let predicted = first;
  while (predicted < tokens.length) {
    const count = Math.min(tokens.length - predicted, maxLength); // pred_len = max_seq_len - context_len + 1
    const end = predicted + count;
    disjoint(tokens.slice(end - maxLength - 1, end - 1), tokens.slice(end - count, end));
    predicted += count;
  }
  return windows;
}

export async function scoreTexts(lm: ScoringLm, texts: readonly (readonly number[])[], options: Omit<ScoreOptions, 'shareContext'>): Promise<TextScore[]> {
  const maxLength = options.maxLength ?? lm.config.maxPositions;
  const owner: number[] = [];
  const windows: ContinuationRequest[] = [];
  /** textsDone[k]: texts wholly scored once windows [0, k) are (a one-token text needs no window). */
  const textsDone: number[] = [0];
  texts.forEach((text, i) => {
    if (text.length === 0) throw new RangeError(`scoreTexts: text ${i} has no tokens (its first token is the one the rest is conditioned on)`);
    const own = rollingWindows(text[0], text.slice(1), maxLength);
    own.forEach((w, k) => {
      windows.push(w);
      owner.push(i);
      textsDone.push(k === own.length - 1 ? i + 1 : i);
    });
    if (own.length === 0) textsDone[textsDone.length - 1] = i + 1;
  });
  const onProgress = options.onProgress;
  const scores = await scoreContinuations(lm, windows, {
    ...options,
    shareContext: false,
    onProgress: onProgress && ((done) => onProgress(done === windows.length ? texts.length : textsDone[done], texts.length)),
  });
  const results: TextScore[] = texts.map((t) => ({ logLikelihood: 0, tokens: t.length - 1 }));
  scores.forEach(([s], k) => (results[owner[k]].logLikelihood += s.logLikelihood));
  return results;
}
