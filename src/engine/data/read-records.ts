// Turns the bytes of a dataset file into records, each tagged with the line it starts on, and collects
// per-line errors instead of stopping at the first bad line (the user decides whether to skip them).
// JSONL: one JSON object per line. JSON: one array of objects (or an object holding one such array).
// Dataset files keep their first KEPT_ERRORS errors by line and count the rest (line-errors.ts).

import { ErrorTally, KEPT_ERRORS, type LineErrors } from './line-errors';

export type { RecordError } from './line-errors';

export interface SourceRecord {
  /** 1-based line where the record starts. */
  line: number;
  value: unknown;
}

export interface ParsedRecords extends LineErrors {
  file: string;
  records: SourceRecord[];
}

/** A file that cannot be read as a dataset at all (not UTF-8, empty, not JSON). */
export class DatasetFileError extends Error {
  override readonly name = 'DatasetFileError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new DatasetFileError(file, `is not UTF-8 text (invalid byte 0x${bytes[at].toString(16).padStart(2, '0')} at offset ${at}, line ${lineAt(bytes, at)})`);
  }
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/**
 * Length of the well-formed UTF-8 sequence at `i`, or 0 when it is not one: the lead byte sets the length and
 * the second byte's range (which rules out overlong forms, UTF-16 surrogates and code points past U+10FFFF).
 */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) length = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    if (b === 0xe0) low = 0xa0;
    if (b === 0xed) high = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4;
    if (b === 0xf0) low = 0x90;
    if (b === 0xf4) high = 0x8f;
  } else return 0;
  if (i + length > bytes.length || bytes[i + 1] < low || bytes[i + 1] > high) return 0;
  for (let k = 2; k < length; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return 0;
  return length;
}

/** Offset of the first byte of the first invalid UTF-8 sequence (only called when decoding failed). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length === 0) return i;
    i += length;
  }
  return Math.max(0, bytes.length - 1);
}

/** JSONL records; `keptErrors` bounds the errors kept (every one is counted). */
export function parseJsonl(text: string, file: string, keptErrors = Infinity): ParsedRecords {
  const records: SourceRecord[] = [];
  const errors = new ErrorTally(undefined, keptErrors);
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    try {
      records.push({ line: i + 1, value: JSON.parse(raw) });
    } catch (err) {
      errors.add({ line: i + 1, message: `not valid JSON (${(err as Error).message})` });
    }
  }
  return { file, records, ...errors.result() };
}

/** 1-based start line of every element of the top-level array that starts at `start`. */
function arrayElementLines(text: string, start: number): number[] {
  const lines: number[] = [];
  let line = 1;
  for (let i = 0; i < start; i++) if (text.charCodeAt(i) === 10) line++;
  let depth = 0;
  let inString = false;
  let expectElement = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') line++;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (expectElement && !/\s/.test(ch) && ch !== ']') {
      lines.push(line);
      expectElement = false;
    }
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 1) expectElement = true;
  }
  return lines;
}

export function parseJsonArray(text: string, file: string): ParsedRecords {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DatasetFileError(file, `is not valid JSON (${(err as Error).message})`);
  }
  let list: unknown[] | undefined;
  let listStart = text.indexOf('[');
  if (Array.isArray(json)) list = json;
  else if (json && typeof json === 'object') {
    // {"data": [...]}-style wrappers: exactly one array-valued field.
    const arrays = Object.entries(json).filter(([, v]) => Array.isArray(v));
    if (arrays.length === 1) {
      list = arrays[0][1] as unknown[];
      listStart = text.indexOf('[', text.indexOf(JSON.stringify(arrays[0][0])));
    }
  }
  if (!list) throw new DatasetFileError(file, 'must hold a JSON array of records (or an object with one array field)');
  const lines = arrayElementLines(text, listStart);
  return { file, records: list.map((value, i) => ({ line: lines[i] ?? 1, value })), errors: [], errorCount: 0 };
}

/**
 * JSONL unless the text is one JSON document (starts with '[' or is a single multi-line object); the first
 * KEPT_ERRORS bad lines are kept.
 */
export function parseRecords(bytes: Uint8Array, file: string): ParsedRecords {
  const text = decodeUtf8(bytes, file);
  if (text.trim() === '') throw new DatasetFileError(file, 'is empty');
  const first = text.trimStart()[0];
  if (first === '[') return parseJsonArray(text, file);
  const asJsonl = parseJsonl(text, file, KEPT_ERRORS);
  if (first === '{' && asJsonl.records.length === 0 && asJsonl.errorCount > 1) {
    // One pretty-printed object over several lines, not JSONL.
    return parseJsonArray(text, file);
  }
  return asJsonl;
}
