// The Data page's calls to the worker.

import type { DatasetFormat, TrainingMethod } from '../engine/data/formats';
import type { RecordError } from '../engine/data/read-records';
import type { DatasetMethod, DatasetSummaryRecord } from '../storage/records';

/** A file read and checked, not yet saved: the page shows its errors and lets the user skip them. */
export interface DatasetDraft {
  draftId: string;
  source: string;
  format: DatasetFormat;
  /** What it is saved as: SFT examples, preference pairs (for DPO, SimPO and ORPO), or prompts (GRPO). */
  method: DatasetMethod;
  /** Every training method its format fits, the studio's and those still to come (e.g. KTO). */
  methods: TrainingMethod[];
  /** Usable records: examples, pairs, or prompts. */
  examples: number;
  /** The first lines that cannot be used (bad JSON, wrong fields, ...), by line: at most KEPT_ERRORS (engine/data/line-errors.ts). */
  errors: RecordError[];
  /** How many lines cannot be used, `errors` and the rest. */
  errorCount: number;
  /** Pairs skipped because the chosen answer equals the rejected one (0 for SFT data). */
  identical: number;
  /** GRPO prompts: the other fields the records hold, handed to the reward functions (first seen first; empty for the other families). */
  rewardFields: string[];
}

/** A saved dataset without its examples (their count instead), as storage lists it. */
export type DatasetSummary = DatasetSummaryRecord;

/** One token as the preview shows it: the text it adds, and whether the loss is computed on it. */
export interface PreviewToken {
  text: string;
  id: number;
  trained: boolean;
}

/** One SFT example rendered for the chosen model, token by token. */
export interface TokenPreview {
  line: number;
  tokens: PreviewToken[];
  truncated: boolean;
  /** Why this example cannot be rendered for the model (then `tokens` is empty). */
  error?: string;
}

/** One preference pair rendered for the chosen model: the shared prompt, then each answer after it. */
export interface PairPreview {
  line: number;
  /** Context only (never trained). */
  prompt: PreviewToken[];
  /** The answers: every token trained, as the preference loss sums their log-probabilities. */
  chosen: PreviewToken[];
  rejected: PreviewToken[];
  /** An answer was cut so that prompt + answer fits the maximum length. */
  truncated: boolean;
  /** The prompt was cut to its last `maxPromptLength` tokens. */
  promptTruncated: boolean;
  /** Why training would not use this pair for the model (then the three lists are empty). */
  error?: string;
}

/** One GRPO prompt rendered for the chosen model, as the rollouts continue it, with the fields its rewards get. */
export interface PromptPreview {
  line: number;
  /** Context only: GRPO trains the completions sampled after the prompt, never the prompt. */
  tokens: PreviewToken[];
  /** The record's other fields, handed to the reward functions (values as text, long ones cut). */
  fields: { name: string; value: string }[];
  /** The prompt is longer than the maximum length (shown cut; a run leaves out prompts with no room to complete). */
  truncated: boolean;
  /** Why this prompt cannot be rendered for the model (then `tokens` is empty). */
  error?: string;
}

/** A page of a saved dataset rendered for the model, by the family it holds. */
export type DatasetPreviewPage =
  | { method: 'sft'; examples: TokenPreview[] }
  | { method: 'dpo'; pairs: PairPreview[]; maxPromptLength: number }
  | { method: 'grpo'; prompts: PromptPreview[] };

export interface DatasetsApi {
  /**
   * Reads a file (JSONL, JSON or CSV; File from a picker or drop, or pasted text), detects its format (SFT
   * examples, preference pairs or GRPO prompts) and checks every line. Rejects with a message naming the problem when
   * nothing is usable (empty, not UTF-8, too large, fields no studio method reads). Nothing is saved yet.
   */
  readDataset(input: { file: File } | { text: string; name: string }): Promise<DatasetDraft>;
  /** Saves a draft (its bad lines skipped) under `name`; returns the stored summary. */
  saveDataset(draftId: string, name: string, split: { evalFraction: number; seed: number }): Promise<DatasetSummary>;
  listDatasets(): Promise<DatasetSummary[]>;
  renameDataset(id: string, name: string): Promise<void>;
  setDatasetSplit(id: string, split: { evalFraction: number; seed: number }): Promise<DatasetSummary>;
  deleteDataset(id: string): Promise<void>;
  /** Examples, pairs or prompts [start, start + count) rendered with the loaded model's tokenizer (and chat template). */
  previewDataset(id: string, start: number, count: number, maxLength: number): Promise<DatasetPreviewPage>;
}
