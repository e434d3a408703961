// The Data page's calls to the worker.

import type { DatasetFormat } from '../engine/data/formats';
import type { RecordError } from '../engine/data/read-records';
import type { DatasetSummaryRecord } from '../storage/records';

/** A file read and checked, not yet saved: the page shows its errors and lets the user skip them. */
export interface DatasetDraft {
  draftId: string;
  source: string;
  format: DatasetFormat;
  /** Usable records. */
  examples: number;
  /** Lines that cannot be used (bad JSON, wrong fields, ...), with line numbers. */
  errors: RecordError[];
}

/** A saved dataset without its examples (their count instead), as storage lists it. */
export type DatasetSummary = DatasetSummaryRecord;

/** One example rendered for the chosen model, token by token. */
export interface TokenPreview {
  line: number;
  tokens: { text: string; id: number; trained: boolean }[];
  truncated: boolean;
  /** Why this example cannot be rendered for the model (then `tokens` is empty). */
  error?: string;
}

export interface DatasetsApi {
  /**
   * Reads a file (JSONL, JSON or CSV; File from a picker or drop, or pasted text) and checks every line.
   * Rejects with a message naming the problem when nothing is usable (empty, not UTF-8, too large, wrong
   * fields for SFT). Nothing is saved yet.
   */
  readDataset(input: { file: File } | { text: string; name: string }): Promise<DatasetDraft>;
  /** Saves a draft (its bad lines skipped) under `name`; returns the stored summary. */
  saveDataset(draftId: string, name: string, split: { evalFraction: number; seed: number }): Promise<DatasetSummary>;
  listDatasets(): Promise<DatasetSummary[]>;
  renameDataset(id: string, name: string): Promise<void>;
  setDatasetSplit(id: string, split: { evalFraction: number; seed: number }): Promise<DatasetSummary>;
  deleteDataset(id: string): Promise<void>;
  /** Examples [start, start + count) rendered with the loaded model's tokenizer (and chat template). */
  previewDataset(id: string, start: number, count: number, maxLength: number): Promise<TokenPreview[]>;
}
