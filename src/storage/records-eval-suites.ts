// Evaluation suites as IndexedDB holds them (schema v4): each suite's protocol and options with its items.
// Storage owns these shapes. They mirror src/engine/eval/suite-types.ts (EvalSuiteSpec and the item types)
// field for field without importing it, so an engine change fails to compile where the worker maps one to
// the other instead of silently changing what is stored.

import type { StoredRecordError } from './records-datasets';

/** Mirror of EvalSuiteKind. */
export type StoredEvalSuiteKind = 'task' | 'multiple-choice' | 'gsm8k' | 'humaneval' | 'retention' | 'judge';

/** Mirror of BuiltinSuiteId. */
export type StoredBuiltinSuiteId = 'arc-easy' | 'arc-challenge' | 'hellaswag' | 'boolq' | 'gsm8k' | 'humaneval-js' | 'mt-bench';

/** Mirror of SuiteOrigin. */
export type StoredSuiteOrigin =
  | { type: 'builtin'; builtin: StoredBuiltinSuiteId }
  | { type: 'file'; fileName: string; datasetId?: string }
  | { type: 'run-split'; runId: string };

/** Mirror of CommonSuiteOptions. */
export interface StoredCommonSuiteOptions {
  limit?: number;
}

/** Mirror of FewShotOptions. */
export interface StoredFewShotOptions {
  shots: number;
  seed: number;
}

/** Mirror of GenerationOptions. */
export interface StoredGenerationOptions {
  maxNewTokens: number;
  stop: string[];
  sampling?: { temperature: number; topP?: number; topK?: number; seed: number; samplesPerItem: number };
}

/** Mirror of ExactMatchSettings. */
export interface StoredExactMatchSettings {
  ignoreCase: boolean;
  ignorePunctuation: boolean;
  regexesToIgnore: string[];
}

/** Mirror of TaskMetricSettings. */
export interface StoredTaskMetricSettings {
  exactMatch: boolean;
  contains: boolean;
  rougeL: boolean;
  regex?: { pattern: string; flags: string };
  customMetric?: { name: string; source: string; timeoutMs: number };
}

export type StoredMultipleChoiceMetricName = 'acc' | 'acc_norm';

interface StoredSuiteBase {
  id: string;
  name: string;
  origin: StoredSuiteOrigin;
  /** ms since epoch. */
  createdAt: number;
}

/** Mirror of TaskSuiteSpec. */
export interface StoredTaskSuiteSpec extends StoredSuiteBase {
  kind: 'task';
  options: StoredCommonSuiteOptions & { generation: StoredGenerationOptions; metrics: StoredTaskMetricSettings; perplexity: boolean };
}

/** Mirror of MultipleChoiceSuiteSpec. */
export interface StoredMultipleChoiceSuiteSpec extends StoredSuiteBase {
  kind: 'multiple-choice';
  options: StoredCommonSuiteOptions & { fewShot: StoredFewShotOptions; metrics: StoredMultipleChoiceMetricName[] };
}

/** Mirror of Gsm8kSuiteSpec. */
export interface StoredGsm8kSuiteSpec extends StoredSuiteBase {
  kind: 'gsm8k';
  options: StoredCommonSuiteOptions & { fewShot: StoredFewShotOptions; generation: StoredGenerationOptions; exactMatch: StoredExactMatchSettings };
}

/** Mirror of HumanEvalSuiteSpec. */
export interface StoredHumanEvalSuiteSpec extends StoredSuiteBase {
  kind: 'humaneval';
  options: StoredCommonSuiteOptions & { generation: StoredGenerationOptions; ks: number[]; timeoutMs: number };
}

/** Mirror of RetentionSuiteSpec. */
export interface StoredRetentionSuiteSpec extends StoredSuiteBase {
  kind: 'retention';
  options: StoredCommonSuiteOptions & { maxTokensPerText?: number };
}

/** Mirror of JudgeSuiteSpec (an endpoint's key is never part of it). */
export interface StoredJudgeSuiteSpec extends StoredSuiteBase {
  kind: 'judge';
  options: StoredCommonSuiteOptions & {
    mode: 'single' | 'pairwise';
    judge: { type: 'local'; modelId: string } | { type: 'endpoint'; url: string; model: string };
    prompts: Record<string, string>;
    generation: StoredGenerationOptions;
  };
}

/** Mirror of EvalSuiteSpec. */
export type StoredEvalSuiteSpec =
  | StoredTaskSuiteSpec
  | StoredMultipleChoiceSuiteSpec
  | StoredGsm8kSuiteSpec
  | StoredHumanEvalSuiteSpec
  | StoredRetentionSuiteSpec
  | StoredJudgeSuiteSpec;

// ---- Items, mirrors of the engine's item types ----

export interface StoredTaskItem {
  id: string;
  prompt: string | { role: string; content: string }[];
  reference: string;
  /** The source record (plain JSON), passed to a custom metric as `item`. */
  record?: unknown;
}

/**
 * Mirror of MultipleChoiceDoc: a multiple-choice document before prompting (the harness's doc_to_text,
 * doc_to_choice, doc_to_target). Saved suites keep documents, not prompts: the prompt (with the evaluation's
 * few-shot count) is built when the suite runs.
 */
export interface StoredMultipleChoiceDoc {
  id: string;
  query: string;
  choices: string[];
  gold: number;
}

/** A GSM8K document before prompting: the question and the reference solution ending in "#### N". */
export interface StoredGsm8kDoc {
  id: string;
  question: string;
  answer: string;
}

export interface StoredHumanEvalItem {
  name: string;
  prompt: string;
  tests: string;
  stopTokens: string[];
}

export interface StoredRetentionItem {
  id: string;
  text: string;
}

export interface StoredJudgeItem {
  id: string;
  category: string;
  turns: string[];
  references?: string[];
}

/** What a saved suite adds to its spec: the lines skipped at import. */
interface StoredSuiteExtras {
  /** The first lines the user skipped at import (at most KEPT_SKIPPED_LINES, by file and line), with why (as the Data page shows them). */
  skipped: StoredRecordError[];
  /** How many lines were skipped at import; absent in records saved before the cap (then `skipped` holds them all). */
  skippedCount?: number;
}

/**
 * A saved suite: its spec field for field, and its items typed by its kind. Multiple-choice and GSM8K suites
 * keep documents, and the few-shot pool their examples are drawn from (absent: the documents themselves).
 */
export type EvalSuiteRecord = StoredSuiteExtras &
  (
    | (StoredTaskSuiteSpec & { items: StoredTaskItem[] })
    | (StoredMultipleChoiceSuiteSpec & { items: StoredMultipleChoiceDoc[]; fewShotPool?: StoredMultipleChoiceDoc[] })
    | (StoredGsm8kSuiteSpec & { items: StoredGsm8kDoc[]; fewShotPool?: StoredGsm8kDoc[] })
    | (StoredHumanEvalSuiteSpec & { items: StoredHumanEvalItem[] })
    | (StoredRetentionSuiteSpec & { items: StoredRetentionItem[] })
    | (StoredJudgeSuiteSpec & { items: StoredJudgeItem[] })
  );

/** Replaces a record's items by their count (and drops the few-shot pool), variant by variant. */
type Counted<R> = R extends { items: unknown[] } ? Omit<R, 'items' | 'fewShotPool' | 'skippedCount'> & { items: number; skippedCount: number } : never;

/** A suite as lists show it: everything but the items, which are counted, and the first skipped lines with their count. */
export type EvalSuiteSummaryRecord = Counted<EvalSuiteRecord>;
