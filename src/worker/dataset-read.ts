// A dataset file (or pasted text) to normalised SFT examples: the size is checked before anything is read,
// the format is chosen by extension (JSONL / JSON / CSV / TSV) or, for pasted text and other names, by the
// first character; then the engine detects the record format and refuses one that does not fit SFT.

import { parseCsv } from '../engine/data/csv';
import { detectFormat } from '../engine/data/detect';
import { DatasetFileError, decodeUtf8, parseRecords, type ParsedRecords } from '../engine/data/read-records';
import { toSftDataset, type SftDataset } from '../engine/data/sft-examples';

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

/**
 * The SFT examples of a file, with its per-line errors. Throws when nothing is usable (a format that is not
 * SFT, or every line bad), naming the file and the first problems.
 */
export function readSftDataset(bytes: Uint8Array, name: string): SftDataset {
  const dataset = toSftDataset(detectFormat(parseDatasetBytes(bytes, name), 'sft'));
  if (dataset.examples.length === 0) {
    const shown = dataset.errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`);
    const more = dataset.errors.length > 3 ? `; and ${dataset.errors.length - 3} more` : '';
    throw new DatasetFileError(name, `has no usable ${dataset.format} records (${shown.join('; ')}${more})`);
  }
  return dataset;
}
