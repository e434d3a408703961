// Mean of per-item scores and its standard error, as lm-evaluation-harness aggregates them
// (lm_eval/api/metrics.py: mean, sample_stddev with ddof = 1, mean_stderr = sample_stddev / sqrt(n);
// lm_eval/evaluator_utils.py reports the stderr only when there are at least two items, else "N/A").

import type { MetricValue } from '../suite-types';

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('mean of no values');
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Sample standard deviation (divides by n - 1); needs at least two values. */
export function sampleStddev(values: readonly number[]): number {
  if (values.length < 2) throw new Error(`sample standard deviation needs at least 2 values, got ${values.length}`);
  const mu = mean(values);
  let squares = 0;
  for (const v of values) squares += (v - mu) ** 2;
  return Math.sqrt(squares / (values.length - 1));
}

/** The harness's mean_stderr: sample_stddev / sqrt(n). */
export function meanStderr(values: readonly number[]): number {
  return sampleStddev(values) / Math.sqrt(values.length);
}

/** The mean with its standard error; no stderr for a single item (the harness writes "N/A"). */
export function meanWithStderr(values: readonly number[]): MetricValue {
  return values.length >= 2 ? { value: mean(values), stderr: meanStderr(values) } : { value: mean(values) };
}
