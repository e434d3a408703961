// CSV (or TSV) datasets as records keyed by the header row, each tagged with the line it starts on, so CSV
// files go through the same format detection as JSONL. Parsing (quotes, quoted newlines, \r\n) is
// papaparse's; this module maps rows to records and problems to line numbers. Empty cells become null, as
// Hugging Face `datasets` reads them; cells of structured fields (messages, input_ids, ...) hold JSON.

import Papa from 'papaparse';
import { PAIR_ID_FIELDS } from './formats';
import { ErrorTally } from './line-errors';
import { isMessage, isMessageList } from './messages';
import { DatasetFileError, type ParsedRecords, type SourceRecord } from './read-records';

/** Fields whose cells are JSON (a list of messages, of token ids, ...) rather than text. */
const JSON_FIELDS = new Set([
  'messages',
  'conversations',
  'input_ids',
  'completion_mask',
  'chosen_messages',
  'rejected_messages',
  ...PAIR_ID_FIELDS.flatMap((f) => [f.prompt, f.chosen, f.rejected]),
]);
/**
 * Text fields that may instead hold JSON chat messages: a list (conversational prompt-completion and
 * preference) or, for chosen/rejected, one {from, value} message (LLaMA-Factory's ShareGPT preference).
 */
const MAYBE_MESSAGE_FIELDS = new Set(['prompt', 'completion', 'chosen', 'rejected']);
const MAYBE_ONE_MESSAGE_FIELDS = new Set(['chosen', 'rejected']);

type CellResult = { value: unknown } | { error: string };

function cellValue(field: string, raw: string): CellResult {
  if (raw.trim() === '') return { value: null };
  if (JSON_FIELDS.has(field)) {
    try {
      return { value: JSON.parse(raw) };
    } catch (err) {
      return { error: `column "${field}" must hold JSON (${(err as Error).message})` };
    }
  }
  const opening = raw.trimStart()[0];
  if ((opening === '[' && MAYBE_MESSAGE_FIELDS.has(field)) || (opening === '{' && MAYBE_ONE_MESSAGE_FIELDS.has(field))) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isMessageList(parsed) || (opening === '{' && isMessage(parsed))) return { value: parsed };
    } catch {
      // Plain text that happens to start with "[" or "{".
    }
  }
  if (field === 'label' && /^(true|false)$/i.test(raw.trim())) return { value: raw.trim().toLowerCase() === 'true' };
  return { value: raw };
}

function headerNames(cells: string[], line: number, file: string): string[] {
  const names = cells.map((c) => c.trim());
  names.forEach((name, i) => {
    if (name === '') throw new DatasetFileError(file, `line ${line}: column ${i + 1} of the header has no name`);
    if (names.indexOf(name) !== i) throw new DatasetFileError(file, `line ${line}: column "${name}" appears twice in the header`);
  });
  return names;
}

const PAPA_MESSAGES: Record<string, string> = {
  MissingQuotes: 'has a quoted field with no closing quote (everything after it was read as one field)',
  InvalidQuotes: 'has a stray quote inside a quoted field (write a quote inside quotes as "")',
};

/**
 * Reads CSV text (already decoded) into records keyed by its first non-empty row. Rows with the wrong
 * number of fields or broken quoting become per-line errors (the first KEPT_ERRORS kept, all counted); a
 * file without a header is refused.
 */
export function parseCsv(text: string, file: string, delimiter = ','): ParsedRecords {
  const records: SourceRecord[] = [];
  const errors = new ErrorTally();
  let header: string[] | undefined;
  // Line counting: each row starts where the previous one's cursor ended.
  let rowStart = 0;
  let line = 1;
  const lineOf = (offset: number) => {
    for (; rowStart < offset; rowStart++) if (text.charCodeAt(rowStart) === 10) line++;
    return line;
  };
  let start = 0;
  Papa.parse<string[]>(text, {
    header: false,
    delimiter,
    skipEmptyLines: false,
    step: (row) => {
      const rowLine = lineOf(start);
      start = row.meta.cursor;
      const cells = row.data;
      if (cells.every((c) => c.trim() === '') && row.errors.length === 0) return;
      if (!header) {
        header = headerNames(cells, rowLine, file);
        return;
      }
      const problem = row.errors.find((e) => PAPA_MESSAGES[e.code]);
      if (problem) {
        errors.add({ line: rowLine, message: PAPA_MESSAGES[problem.code] });
        return;
      }
      if (cells.length !== header.length) {
        errors.add({
          line: rowLine,
          message: `has ${cells.length} field${cells.length === 1 ? '' : 's'}, the header has ${header.length} (a field holding "${delimiter === '\t' ? 'a tab' : delimiter}" must be in double quotes)`,
        });
        return;
      }
      const value: Record<string, unknown> = {};
      for (let i = 0; i < header.length; i++) {
        const cell = cellValue(header[i], cells[i]);
        if ('error' in cell) {
          errors.add({ line: rowLine, message: cell.error });
          return;
        }
        value[header[i]] = cell.value;
      }
      records.push({ line: rowLine, value });
    },
  });
  if (!header) throw new DatasetFileError(file, 'is empty');
  if (records.length === 0 && errors.errorCount === 0) throw new DatasetFileError(file, `has a header (${header.join(', ')}) but no rows`);
  return { file, records, ...errors.result() };
}
