// The Evaluate page's calls to the worker: evaluation suites imported from JSONL (kept in IndexedDB), before
// and after evaluations of the loaded base model and saved adapters (results kept beside the adapters), their
// export. MT-Bench judging has its own calls (protocol-judge.ts).

import type {
  EvalResultRecord,
  EvalResultSummaryRecord,
  EvalSuiteSummaryRecord,
  StoredBuiltinSuiteId,
  StoredEvalSuiteKind,
  StoredTaskMetricSettings,
} from '../storage/records';

/** How to read an imported file: detected from its records and name, or as the user says. */
export type SuiteImportAs = 'auto' | 'task' | 'retention' | 'multiple-choice' | 'gsm8k' | 'humaneval' | 'judge';

/** A bad line of an imported suite file. */
export interface SuiteLineError {
  /** The file it is in (several files make one suite: ARC test + train, HellaSwag's two files). */
  file: string;
  line: number;
  message: string;
}

/** A suite file read and checked, not yet saved: the page shows its errors and its settings. */
export interface SuiteDraft {
  draftId: string;
  /** The file names, joined. */
  source: string;
  kind: StoredEvalSuiteKind;
  /** The built-in suite the files were recognised as (by name), whose harness settings it takes. */
  builtin?: StoredBuiltinSuiteId | 'stories-retention';
  /** A name to propose. */
  name: string;
  items: number;
  /** Few-shot examples read from a train file (multiple choice, GSM8K). */
  fewShotPool?: number;
  /** The first 100 bad lines (KEPT_ERRORS), file by file and by line. */
  errors: SuiteLineError[];
  /** How many lines are bad in all. */
  errorCount: number;
  /** Why this suite may only be evaluated (HumanEval-JS's licence): never offered as training data. */
  evaluationOnly?: string;
}

/** What a task suite computes on each generation (the page's form; see TaskMetricSettings). */
export interface TaskSuiteSettings {
  maxNewTokens: number;
  stop: string[];
  metrics: StoredTaskMetricSettings;
  perplexity: boolean;
}

export type EvalSuiteSummary = EvalSuiteSummaryRecord;

export interface EvaluationRequest {
  name: string;
  suiteIds: string[];
  /** Saved adapters evaluated after the base; the base model (the loaded one) is always evaluated first. */
  adapterIds: string[];
  /** Few-shot count for the suites that take examples. */
  shots: number;
  /** Items per suite (absent: all). */
  limit?: number;
  /** Seed of sampled generations and few-shot draws. */
  seed: number;
}

/** Where an evaluation stands: target t of targets, suite s of suites, item progress within it. */
export type EvaluationEvent =
  | {
      kind: 'progress';
      target: number;
      targets: number;
      suite: number;
      suites: number;
      suiteName: string;
      done: number;
      total: number;
      /** Seconds left for the whole evaluation at the pace so far; absent until one unit is done. */
      etaSeconds?: number;
    }
  /** One suite finished on one target (its scores, without per-item outcomes). */
  | { kind: 'suite-done'; target: number; suiteId: string; scores: Record<string, { value: number; stderr?: number }> };

export type EvaluationListener = (event: EvaluationEvent) => void;

export type EvaluationSummary = EvalResultSummaryRecord;
export type EvaluationRecord = EvalResultRecord;

export interface EvalApi {
  /** Reads suite files (JSONL; HellaSwag's two text files) into a draft; nothing is saved yet. */
  readSuite(files: File[], as: SuiteImportAs): Promise<SuiteDraft>;
  /** Saves a draft (its bad lines skipped); a task suite takes its metric settings. */
  saveSuite(draftId: string, name: string, task?: TaskSuiteSettings): Promise<EvalSuiteSummary>;
  listSuites(): Promise<EvalSuiteSummary[]>;
  deleteSuite(id: string): Promise<void>;

  /**
   * Evaluates the loaded base model, then base + each adapter, on every suite; stores and returns the
   * result. One evaluation at a time; refused while a training run holds the model.
   */
  runEvaluation(request: EvaluationRequest, listener: EvaluationListener): Promise<EvaluationSummary>;
  /** Stops the running evaluation between batches; what finished is stored as 'cancelled'. */
  cancelEvaluation(): Promise<void>;
  listEvaluations(adapterId?: string): Promise<EvaluationSummary[]>;
  /** One evaluation with its per-item outcomes. */
  getEvaluation(id: string): Promise<EvaluationRecord>;
  deleteEvaluation(id: string): Promise<void>;
  /** lm-evaluation-harness's results JSON, or CSV, as text. */
  exportEvaluation(id: string, format: 'json' | 'csv'): Promise<string>;
}
