// The evaluation suite record that every layer shares (engine, worker, storage, studio, CLI): a named set of
// items with a protocol. Everything here is plain JSON-serialisable data (no classes, no functions, no
// undefined-only fields that matter) because IndexedDB stores it and storage mirrors it field for field.

/** What protocol a suite follows; decides its item type and its metrics. */
export type EvalSuiteKind = 'task' | 'multiple-choice' | 'gsm8k' | 'humaneval' | 'retention' | 'judge';

/** Public benchmarks Tunelab knows the harness's settings of; their files come from the user (a datasets folder, or files imported on the Evaluate page). */
export type BuiltinSuiteId = 'arc-easy' | 'arc-challenge' | 'hellaswag' | 'boolq' | 'gsm8k' | 'humaneval-js' | 'mt-bench';

/** Where a suite's items come from. */
export type SuiteOrigin =
  | { type: 'builtin'; builtin: BuiltinSuiteId }
  /** A user file imported as JSONL; `datasetId` when it is also a stored dataset. */
  | { type: 'file'; fileName: string; datasetId?: string }
  /** A training run's held-out split (task suites and retention). */
  | { type: 'run-split'; runId: string };

/** Options every kind understands. */
export interface CommonSuiteOptions {
  /** Evaluate only the first `limit` items (lm-evaluation-harness's --limit); absent = all. */
  limit?: number;
}

/** Few-shot prompting: `shots` solved examples before each item, drawn with `seed`, never the item itself. */
export interface FewShotOptions {
  shots: number;
  seed: number;
}

/** How generations are decoded. Greedy unless `sampling` is given. */
export interface GenerationOptions {
  maxNewTokens: number;
  /** Generation stops at (and is cut before) the first of these strings. */
  stop: string[];
  sampling?: { temperature: number; topP?: number; topK?: number; seed: number; samplesPerItem: number };
}

/** lm-evaluation-harness's exact_match keyword arguments (lm_eval/api/metrics.py exact_match_hf_evaluate). */
export interface ExactMatchSettings {
  ignoreCase: boolean;
  ignorePunctuation: boolean;
  /** Python-syntax regexes removed from both prediction and reference, in order. */
  regexesToIgnore: string[];
}

/** Generation metrics a task suite computes on each output. */
export interface TaskMetricSettings {
  /** SQuAD-style normalised exact match (see metrics/text-metrics.ts). */
  exactMatch: boolean;
  /** Reference contained in the output after normalisation. */
  contains: boolean;
  rougeL: boolean;
  /** JavaScript regular expression the output must match (format adherence). */
  regex?: { pattern: string; flags: string };
  /** Source of a custom `(output, item) => number` metric, run in the sandbox. */
  customMetric?: { name: string; source: string; timeoutMs: number };
}

export interface TaskSuiteSpec extends SuiteBase {
  kind: 'task';
  options: CommonSuiteOptions & { generation: GenerationOptions; metrics: TaskMetricSettings; perplexity: boolean };
}

export interface MultipleChoiceSuiteSpec extends SuiteBase {
  kind: 'multiple-choice';
  options: CommonSuiteOptions & {
    fewShot: FewShotOptions;
    /** Metrics reported, as the harness's yaml lists them (BoolQ: acc only; ARC, HellaSwag: acc and acc_norm). */
    metrics: MultipleChoiceMetricName[];
  };
}

export interface Gsm8kSuiteSpec extends SuiteBase {
  kind: 'gsm8k';
  options: CommonSuiteOptions & { fewShot: FewShotOptions; generation: GenerationOptions; exactMatch: ExactMatchSettings };
}

export interface HumanEvalSuiteSpec extends SuiteBase {
  kind: 'humaneval';
  /** `ks`: the k of each pass@k reported (pass@1 greedy when generation.sampling is absent). */
  options: CommonSuiteOptions & { generation: GenerationOptions; ks: number[]; timeoutMs: number };
}

export interface RetentionSuiteSpec extends SuiteBase {
  kind: 'retention';
  /** Tokens per scored window when a text is longer than the model's context. */
  options: CommonSuiteOptions & { maxTokensPerText?: number };
}

export interface JudgeSuiteSpec extends SuiteBase {
  kind: 'judge';
  options: CommonSuiteOptions & {
    mode: 'single' | 'pairwise';
    /** The judge: a model Tunelab loads, or an OpenAI-compatible endpoint (the key is never stored). */
    judge: { type: 'local'; modelId: string } | { type: 'endpoint'; url: string; model: string };
    /** Judge prompt templates by name, as shown and edited by the user. */
    prompts: Record<string, string>;
    generation: GenerationOptions;
  };
}

interface SuiteBase {
  id: string;
  name: string;
  origin: SuiteOrigin;
  /** ms since epoch. */
  createdAt: number;
}

/** One suite, discriminated by `kind`. */
export type EvalSuiteSpec = TaskSuiteSpec | MultipleChoiceSuiteSpec | Gsm8kSuiteSpec | HumanEvalSuiteSpec | RetentionSuiteSpec | JudgeSuiteSpec;

export type MultipleChoiceMetricName = 'acc' | 'acc_norm';

// ---- Items, one type per kind ----

/** A generation task item: the prompt (plain text or chat turns) and the reference output. */
export interface TaskItem {
  id: string;
  prompt: string | { role: string; content: string }[];
  reference: string;
  /** The source record, passed to a custom metric as `item`. */
  record?: unknown;
}

/**
 * A multiple-choice document before prompting: lm-evaluation-harness's doc_to_text (`query`), doc_to_choice
 * (`choices`, the bare answer texts) and doc_to_target (`gold`, an index into `choices`).
 */
export interface MultipleChoiceDoc {
  id: string;
  query: string;
  choices: string[];
  gold: number;
}

/**
 * A multiple-choice item scored by log-likelihood. `context` is the full prompt (few-shot examples included
 * when asked for); each choice is a continuation scored after it, with the target delimiter already in front
 * (lm-evaluation-harness requests (context, " " + choice)). `gold` indexes `choices`.
 */
export interface MultipleChoiceItem {
  id: string;
  context: string;
  choices: string[];
  gold: number;
  /** The delimiter that starts every choice (" "): acc_norm's length leaves it out, as the harness does. */
  targetDelimiter: string;
}

/** A GSM8K-style generation item: the prompt (few-shot included) and the full reference answer text. */
export interface Gsm8kItem {
  id: string;
  context: string;
  question: string;
  /** The reference solution ending in "#### N" (the harness's doc_to_target). */
  answer: string;
}

/** A HumanEval problem as MultiPL-E ships it (humaneval-js.jsonl). */
export interface HumanEvalItem {
  name: string;
  prompt: string;
  tests: string;
  stopTokens: string[];
}

/** A general text kept aside; its perplexity is compared before and after. */
export interface RetentionItem {
  id: string;
  text: string;
}

/** An MT-Bench question: one or two user turns, with optional reference answers (math, reasoning, coding). */
export interface JudgeItem {
  id: string;
  category: string;
  turns: string[];
  references?: string[];
}

// ---- Scores ----

/** One metric's value over a suite, with the standard error of that value when it has one. */
export interface MetricValue {
  value: number;
  stderr?: number;
}

/**
 * A suite's scores by metric key. Keys follow lm-evaluation-harness's "metric,filter" convention
 * ("acc,none", "exact_match,strict-match"), so report.ts can export them unchanged.
 */
export type SuiteScores = Record<string, MetricValue>;
