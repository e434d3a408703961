// acc and acc_norm with their standard errors, exactly as lm-evaluation-harness computes them
// (lm_eval/api/task.py ConfigurableTask.process_results, output_type "multiple_choice", at commit 4e7e0d4):
//   pred      = np.argmax(lls)                          -> acc      = pred == gold
//   pred_norm = np.argmax(lls / completion_len)         -> acc_norm = pred_norm == gold
//   completion_len = np.array([float(len(i)) for i in choices])   (task.py line 1494)
// `choices` there is doc_to_choice's list, the bare texts WITHOUT the target delimiter, and Python's len()
// counts Unicode code points: so the unit is characters (code points) of the choice text, not bytes (that is
// the separate acc_bytes) and not tokens. np.argmax takes the first index on ties. Aggregation: mean, stderr =
// mean_stderr (lm_eval/api/metrics.py), see ../metrics/mean-stderr.ts.

import { meanWithStderr } from '../metrics/mean-stderr';
import type { MultipleChoiceItem, SuiteScores } from '../suite-types';

export interface MultipleChoiceItemResult {
  /** Choice with the highest summed log-likelihood. */
  pred: number;
  /** Choice with the highest log-likelihood per character. */
  predNorm: number;
  acc: number;
  accNorm: number;
}

export interface MultipleChoiceResult {
  /** "acc,none" and "acc_norm,none" (the harness's metric,filter keys). */
  scores: SuiteScores;
  perItem: MultipleChoiceItemResult[];
}

/** Length of choice `index` in the harness's unit: code points of the text after the target delimiter. */
export function harnessChoiceLength(item: MultipleChoiceItem, index: number): number {
  const choice = item.choices[index];
  const text = choice.startsWith(item.targetDelimiter) ? choice.slice(item.targetDelimiter.length) : choice;
  let points = 0;
  for (const _ of text) points++;
  return points;
}

/** First index of the largest value, as np.argmax. */
function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Scores items from their choices' log-likelihoods: `logLikelihoods[i][j]` is the summed log-probability
 * of item i's choice j given its context (natural log).
 */
export function multipleChoiceMetrics(items: readonly MultipleChoiceItem[], logLikelihoods: readonly (readonly number[])[]): MultipleChoiceResult {
  if (items.length === 0) throw new Error('multiple choice: no items to score');
  if (logLikelihoods.length !== items.length) throw new Error(`multiple choice: ${items.length} items but ${logLikelihoods.length} rows of log-likelihoods`);
  const perItem = items.map((item, i): MultipleChoiceItemResult => {
    const lls = logLikelihoods[i];
    if (lls.length !== item.choices.length) throw new Error(`multiple choice item ${item.id}: ${item.choices.length} choices but ${lls.length} log-likelihoods`);
    lls.forEach((ll, j) => {
      if (!Number.isFinite(ll)) throw new Error(`multiple choice item ${item.id}: log-likelihood of choice ${j} is ${ll}`);
    });
    const normalised = lls.map((ll, j) => {
      const length = harnessChoiceLength(item, j);
      if (length === 0) throw new Error(`multiple choice item ${item.id}: choice ${j} is empty, so acc_norm is undefined`);
      return ll / length;
    });
    const pred = argmax(lls);
    const predNorm = argmax(normalised);
    return { pred, predNorm, acc: pred === item.gold ? 1 : 0, accNorm: predNorm === item.gold ? 1 : 0 };
  });
  return {
    scores: {
      'acc,none': meanWithStderr(perItem.map((r) => r.acc)),
      'acc_norm,none': meanWithStderr(perItem.map((r) => r.accNorm)),
    },
    perItem,
  };
}
