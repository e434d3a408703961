// A dataset file (or pasted text) to normalised SFT examples, preference pairs or GRPO prompts: the size is
// checked before anything is read, the file format is chosen by extension (JSONL / JSON / CSV / TSV) or, for
// pasted text and other names, by the first character; then the engine detects the record format with no
// method in mind, and the dataset is read for the first family that format feeds (SFT, then DPO / SimPO /
// ORPO, then GRPO: prompt-completion stays SFT data, which GRPO reads too; prompt-only and GSM8K's
// question-answer are GRPO's alone). A format the studio cannot train (unpaired preference) is refused,
// naming the fields SFT would need.

import { parseCsv } from '../engine/data/csv';
import { DatasetMethodError, detectDataset, detectFormat } from '../engine/data/detect';
import { METHOD_NAMES, methodsForFormat } from '../engine/data/formats';
import { toPreferenceDataset } from '../engine/data/preference-examples';
import { toPromptDataset } from '../engine/data/prompt-examples';
import { DatasetFileError, decodeUtf8, parseRecords, type ParsedRecords } from '../engine/data/read-records';
import { toSftDataset } from '../engine/data/sft-examples';
import { trainingRefusal } from '../engine/eval/suites/humaneval';
import { STUDIO_METHODS, type MethodDataset } from './dataset-records';

/** The largest file the studio imports: the whole dataset is parsed in the worker and kept in IndexedDB. */
export const MAX_DATASET_BYTES = 32_000_000;

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Refuses a file over the limit from its size alone, before its bytes are read. */
export function checkDatasetSize(name: string, bytes: number): void {
  if (bytes > MAX_DATASET_BYTES) {
    throw new DatasetFileError(name, `is ${megabytes(bytes)}; the studio imports datasets up to ${MAX_DATASET_BYTES / 1e6} MB`);
  }
}

const JSON_EXTENSIONS = new Set(['jsonl', 'ndjson', 'json']);
const CSV_DELIMITERS: Record<string, string> = { csv: ',', tsv: '\t' };

/** Records of a file with line numbers, by its name's extension or else its first character. */
export function parseDatasetBytes(bytes: Uint8Array, name: string): ParsedRecords {
  checkDatasetSize(name, bytes.byteLength);
  const ext = /\.([a-z]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
  if (JSON_EXTENSIONS.has(ext)) return parseRecords(bytes, name);
  const text = decodeUtf8(bytes, name);
  if (text.trim() === '') throw new DatasetFileError(name, 'is empty');
  const delimiter = CSV_DELIMITERS[ext];
  if (delimiter) return parseCsv(text, name, delimiter);
  const first = text.trimStart()[0];
  return first === '[' || first === '{' ? parseRecords(bytes, name) : parseCsv(text, name, ',');
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The refusal of a format no studio method reads: the engine's SFT refusal names the missing fields. */
function unsupportedFormat(parsed: ParsedRecords): DatasetMethodError {
  const names = STUDIO_METHODS.map((m) => `for ${METHOD_NAMES[m]}`);
  const trains = `The studio does not train that yet; it imports data ${names.slice(0, -1).join(', ')} or ${names.at(-1)}.`;
  try {
    detectFormat(parsed, 'sft');
  } catch (err) {
    if (err instanceof DatasetMethodError) return new DatasetMethodError(parsed.file, `${err.detail} ${trains}`);
    throw err;
  }
  return new DatasetMethodError(parsed.file, trains);
}

/** Why nothing in the dataset is usable: the first bad lines, or every pair's answers equal. */
function nothingUsable(imported: MethodDataset): DatasetFileError {
  const { file, format, errors, errorCount } = imported.dataset;
  const identical = imported.method === 'dpo' ? imported.dataset.identical : 0;
  const reasons = errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`);
  if (errorCount > 3) reasons.push(`and ${errorCount - 3} more`);
  if (identical > 0) reasons.push(`${plural(identical, 'pair')} whose chosen answer equals the rejected one`);
  return new DatasetFileError(file, `has no usable ${format} records (${reasons.join('; ')})`);
}

/**
 * The examples (SFT), pairs (preference) or prompts (GRPO) of a file, with its per-line errors. Throws when nothing is
 * usable (a format the studio does not train, or every line bad), naming the file and the first problems.
 */
export function readDatasetFile(bytes: Uint8Array, name: string): MethodDataset {
  const parsed = parseDatasetBytes(bytes, name);
  // HumanEval-JS is for evaluation only (its licence): never offered as training data.
  const refusal = trainingRefusal(parsed.records.map((r) => r.value));
  if (refusal) throw new DatasetFileError(name, `${refusal} Import it on the Evaluate page instead.`);
  const detected = detectDataset(parsed);
  const methods = methodsForFormat(detected.format);
  let imported: MethodDataset;
  if (methods.includes('sft')) imported = { method: 'sft', dataset: toSftDataset(detected) };
  else if (methods.includes('dpo')) imported = { method: 'dpo', dataset: toPreferenceDataset(detected) };
  else if (methods.includes('grpo')) imported = { method: 'grpo', dataset: toPromptDataset(detected) };
  else throw unsupportedFormat(parsed);
  if (imported.dataset.examples.length === 0) throw nothingUsable(imported);
  return imported;
}
