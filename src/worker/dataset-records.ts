// Saved datasets (storage's records) read back as the engine's types, and the engine's datasets written as
// records. Storage keeps the format as a plain name and holds SFT examples, preference pairs or GRPO prompts:
// the worker checks both before the engine sees them.

import { FORMAT_DESCRIPTIONS, METHOD_FORMATS, type DatasetFormat } from '../engine/data/formats';
import type { PreferenceDataset } from '../engine/data/preference-examples';
import type { PromptDataset, PromptRecord } from '../engine/data/prompt-examples';
import type { SftDataset } from '../engine/data/sft-examples';
import { KEPT_SKIPPED_LINES } from '../storage/datasets-store';
import type { DatasetMethod, DatasetRecord, StoredPromptExample } from '../storage/records';

/** A dataset as the engine reads it, with the family of methods its examples feed. */
export type MethodDataset =
  | { method: 'sft'; dataset: SftDataset }
  | { method: 'dpo'; dataset: PreferenceDataset }
  | { method: 'grpo'; dataset: PromptDataset };

/** The method families the studio imports and trains; the engine knows one more (KTO) that is still to come. */
export const STUDIO_METHODS: readonly DatasetMethod[] = ['sft', 'dpo', 'grpo'];

/** Saved GRPO examples as the engine's prompt records (storage nests each under its line; messages and fields are the same shapes). */
export function promptRecords(examples: readonly { line: number; example: StoredPromptExample }[]): PromptRecord[] {
  return examples.map(({ line, example }) => ({ line, prompt: example.prompt, fields: example.fields }));
}

/** The engine's prompt records as saved GRPO examples. */
function storedPrompts(records: readonly PromptRecord[]): { line: number; example: StoredPromptExample }[] {
  return records.map(({ line, prompt, fields }) => ({ line, example: { prompt, fields } }));
}

/** The engine's format of a saved dataset; a name this version does not know is refused, naming the dataset. */
export function engineFormat(record: DatasetRecord): DatasetFormat {
  if (!Object.hasOwn(FORMAT_DESCRIPTIONS, record.format)) {
    throw new Error(`The dataset "${record.name}" was saved as ${record.format} data, which this version of Tunelab cannot read.`);
  }
  return record.format as DatasetFormat;
}

/** A saved dataset of any family as the engine's dataset (no errors: skipped lines stay in the record). */
export function engineDataset(record: DatasetRecord): MethodDataset {
  const format = engineFormat(record);
  if (!METHOD_FORMATS[record.method].includes(format)) {
    throw new Error(`The dataset "${record.name}" is stored as ${record.method.toUpperCase()} data but its format, ${format}, does not fit that method.`);
  }
  const read = { file: record.name, format, errors: [], errorCount: 0 };
  if (record.method === 'sft') return { method: 'sft', dataset: { ...read, examples: record.examples } };
  if (record.method === 'grpo') return { method: 'grpo', dataset: { ...read, examples: promptRecords(record.examples) } };
  return { method: 'dpo', dataset: { ...read, examples: record.examples, identical: record.identical } };
}

/** What every saved dataset holds besides its examples. */
export type DatasetRecordHeader = Omit<DatasetRecord, 'method' | 'format' | 'examples' | 'skipped' | 'skippedCount'>;

/**
 * The record that saves an imported dataset: its examples (pairs, prompts), the first lines skipped and their
 * count, and for pairs the identical ones.
 */
export function datasetRecord(header: DatasetRecordHeader, imported: MethodDataset): DatasetRecord {
  const { format, errors, errorCount } = imported.dataset;
  const skipped = { skipped: errors.slice(0, KEPT_SKIPPED_LINES), skippedCount: errorCount };
  if (imported.method === 'sft') return { ...header, method: 'sft', format, ...skipped, examples: imported.dataset.examples };
  if (imported.method === 'grpo') return { ...header, method: 'grpo', format, ...skipped, examples: storedPrompts(imported.dataset.examples) };
  return { ...header, method: 'dpo', format, ...skipped, examples: imported.dataset.examples, identical: imported.dataset.identical };
}
