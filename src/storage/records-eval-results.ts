// Evaluation results as IndexedDB holds them (schema v4): one record per before/after evaluation, kept beside
// the adapters it evaluated (the store's multi-entry index on adapterIds finds an adapter's results). Storage
// owns these shapes; they mirror the engine's MetricValue / SuiteScores (src/engine/eval/suite-types.ts) and
// the run-suite and before/after results field for field without importing them.

import type { ModelRef } from './records-runs';
import type { StoredEvalSuiteKind } from './records-eval-suites';
import type { StoredJudgement } from './records-eval-judgement';

/** Mirror of MetricValue. */
export interface StoredMetricValue {
  value: number;
  stderr?: number;
}

/** Mirror of SuiteScores: keys in lm-evaluation-harness's "metric,filter" form. */
export type StoredSuiteScores = Record<string, StoredMetricValue>;

/** What one column of the results evaluated: the base model alone, or the base with a saved adapter. */
export type StoredEvalTarget = { kind: 'base' } | { kind: 'adapter'; adapterId: string; adapterName: string };

/** Mirror of ItemOutcome (src/engine/eval/run-types.ts). */
export interface StoredItemOutcome {
  id: string;
  /** The generation (the first sample), or the chosen answer of a multiple-choice item. */
  output?: string;
  /** Every sample, when more than one was drawn per item. */
  outputs?: string[];
  /** Per-metric scores of this item under the suite's metric keys ("acc,none"). */
  scores: Record<string, number>;
  /** Why this item has no (or only some) scores. */
  error?: string;
  /** Kind-specific numbers (log-likelihoods per choice, token counts, ...), plain JSON. */
  detail?: Record<string, unknown>;
}

/** Mirror of SuiteResult (src/engine/eval/run-types.ts). */
export interface StoredSuiteResult {
  suiteId: string;
  suiteName: string;
  kind: StoredEvalSuiteKind;
  scores: StoredSuiteScores;
  items: StoredItemOutcome[];
  /** Items the suite asked for (after its limit). */
  total: number;
  cancelled: boolean;
  ms: number;
}

/** One suite run on one target of the evaluation. */
export interface StoredTargetResult {
  /** Index into EvalResultRecord.targets. */
  target: number;
  result: StoredSuiteResult;
}

/** One metric of one suite: an adapter's value against the base's. */
export interface StoredComparison {
  suiteId: string;
  metric: string;
  /** Index into EvalResultRecord.targets (never the base). */
  target: number;
  base: StoredMetricValue;
  adapted: StoredMetricValue;
  /** adapted - base. */
  difference: number;
  /** Standard error of the difference (sqrt of the summed squares), when both sides have one. */
  stderr?: number;
  /** |difference| > 2 stderr. */
  significant: boolean;
}

/** The options the evaluation ran with (the page's choices). */
export interface StoredEvalOptions {
  /** Few-shot count for the suites that take one. */
  shots: number;
  /** Items per suite (absent: all). */
  limit?: number;
  /** Seed of sampled generations and few-shot draws. */
  seed: number;
}

export type StoredEvalStatus = 'completed' | 'cancelled' | 'failed';

export interface EvalResultRecord {
  id: string;
  name: string;
  createdAt: string;
  /** The base model, as its run records say it (so the page can say which model to load). */
  model: ModelRef;
  modelName: string;
  /** Column 0 is always the base. */
  targets: StoredEvalTarget[];
  /** The adapters evaluated (multi-entry index: an adapter's results). */
  adapterIds: string[];
  /** `task`: the results' task key (lm-evaluation-harness's task name for a built-in suite, else the suite's name). */
  suites: { id: string; name: string; kind: StoredEvalSuiteKind; task: string }[];
  options: StoredEvalOptions;
  results: StoredTargetResult[];
  comparisons: StoredComparison[];
  /** The retention suites' change from the base, one entry per adapter: the forgetting row. */
  forgetting: StoredComparison[];
  status: StoredEvalStatus;
  /** Why it failed or stopped early. */
  message?: string;
  /** An MT-Bench style judgement (its suite is a judge suite; `results` is then empty). */
  judgement?: StoredJudgement;
}

/** A result as lists show it: everything but the per-item outcomes. */
export type EvalResultSummaryRecord = Omit<EvalResultRecord, 'results'> & { results: { target: number; result: Omit<StoredSuiteResult, 'items'> }[] };
