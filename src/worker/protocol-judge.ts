// The Evaluate page's Judge section: MT-Bench style LLM-as-a-judge on the loaded model's answers (the base,
// and the base with each chosen saved adapter), judged by the loaded model itself, by a second model Tunelab
// loads for the judgement, or by an OpenAI-compatible endpoint the user typed in (opt-in per judgement; the
// key is held in the worker's memory for that call only and never stored).

import type { EvalResultRecord, StoredEndpointRequest, StoredJudgePrompt, StoredPairwiseSummary, StoredSingleSummary } from '../storage/records';
import type { ModelRequest, WeightFormat } from './protocol';

export type JudgePromptView = StoredJudgePrompt;

/** A judge prompts file read and checked (FastChat's judge_prompts.jsonl shape). */
export interface JudgePromptsFile {
  file: string;
  prompts: JudgePromptView[];
  /** Bad lines, "file:line: field ..." each; those records are left out. */
  errors: string[];
}

/** Who judges. */
export type JudgeSource =
  /** The evaluated model judges its own answers (a workshop or a test: a tiny model is a poor judge). */
  | { type: 'self' }
  /** A second model, loaded after every answer is generated and freed when the judgement ends. */
  | { type: 'model'; model: Exclude<ModelRequest, { kind: 'files' }>; weightFormat: WeightFormat; label: string }
  /** An OpenAI-compatible /chat/completions server; the key lives in the worker's memory for this call only. */
  | { type: 'endpoint'; url: string; model: string; apiKey: string };

export interface JudgementRequest {
  name: string;
  /** A saved suite of kind 'judge' (MT-Bench questions). */
  suiteId: string;
  mode: 'single' | 'pairwise';
  /** The judge prompt as the user left it (edits included); its type must be the mode, first turn only. */
  prompt: JudgePromptView;
  judge: JudgeSource;
  /** Saved adapters; pairwise judges each one against the base, single grading grades the base and each. */
  adapterIds: string[];
  /** Questions (absent: all). */
  limit?: number;
  /** New tokens of each answer (greedy). */
  maxNewTokens: number;
  /** New tokens of each judgment (greedy; ignored by an endpoint, which is asked for its own max_tokens). */
  judgeMaxNewTokens: number;
}

export type JudgementEvent =
  | { kind: 'progress'; phase: 'answers' | 'loading-judge' | 'judging'; label: string; done: number; total: number }
  /** One request the endpoint judge sent, as it was answered (never the key). */
  | { kind: 'request'; request: StoredEndpointRequest };

export type JudgementListener = (event: JudgementEvent) => void;

/** A stored judgement as the list shows it. */
export interface JudgementSummary {
  id: string;
  name: string;
  createdAt: string;
  status: EvalResultRecord['status'];
  message?: string;
  mode: 'single' | 'pairwise';
  judgeName: string;
  questions: number;
  targets: string[];
  pairwise?: { target: number; summary: StoredPairwiseSummary }[];
  single?: { target: number; summary: StoredSingleSummary }[];
}

export interface JudgeApi {
  readJudgePrompts(file: File): Promise<JudgePromptsFile>;
  /** Generates the answers, judges them, stores and returns the judgement. One at a time. */
  runJudgement(request: JudgementRequest, listener: JudgementListener): Promise<JudgementSummary>;
  /** Stops between answer batches or judge calls; what finished is stored as 'cancelled'. */
  cancelJudgement(): Promise<void>;
  listJudgements(): Promise<JudgementSummary[]>;
  /** The whole record, with every prompt, judgment and verdict. */
  getJudgement(id: string): Promise<EvalResultRecord>;
}
