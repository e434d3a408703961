// The shapes every suite runner shares: the model it runs, the context it runs in, and what it returns.
// run-suite.ts documents them as the runner's public API and re-exports them.

import type { ScoringLm } from '../model/causal-lm';
import type { ModelTokenizer } from '../model/tokenizer';
import type { ProgressListener } from './eval-progress';
import type { CodeSandbox } from './sandbox';
import type { EvalSuiteKind, SuiteScores } from './suite-types';

/** The model under evaluation: the running network (CPU reference or GPU engine) and its tokenizer. */
export interface EvalModel {
  lm: ScoringLm;
  tokenizer: ModelTokenizer;
}

export interface RunContext {
  /** Runs generated code (HumanEval) and custom metrics; suites that need it fail clearly without it. */
  sandbox?: CodeSandbox;
  /** Cancels between batches: the result comes back with `cancelled` and the items finished so far. */
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Sequences per model call (log-likelihood requests, generations, texts). */
  batchSize: number;
  /** Seed for sampled generations (a suite's own sampling seed wins). */
  seed: number;
}

/** What happened to one item. */
export interface ItemOutcome {
  id: string;
  /** The generation (the first sample when several were drawn), or the chosen answer of a multiple-choice item. */
  output?: string;
  /** Every sample, when more than one was drawn per item. */
  outputs?: string[];
  /**
   * Per-metric scores of this item under the suite's metric keys ("acc,none"); the suite's value of a
   * mean-aggregated metric is their mean, so two runs on the same items can be compared item by item.
   */
  scores: Record<string, number>;
  /** Why this item has no (or only some) scores: a metric that threw, code that failed to run, ... */
  error?: string;
  /** Kind-specific numbers: log-likelihoods per choice, token counts and summed NLL, ... (JSON-safe). */
  detail?: Record<string, unknown>;
}

export interface SuiteResult {
  suiteId: string;
  suiteName: string;
  kind: EvalSuiteKind;
  /** Over the items finished (all of them unless cancelled). */
  scores: SuiteScores;
  items: ItemOutcome[];
  /** Items the suite asked for (after its limit); items.length is smaller when cancelled. */
  total: number;
  cancelled: boolean;
  ms: number;
}

/** What a per-kind runner returns; runSuite adds the suite's names, the total and the time. */
export interface KindResult {
  scores: SuiteScores;
  items: ItemOutcome[];
  cancelled: boolean;
}
