// Decides a dataset's format from its records: the most common format wins, records of another format or
// no format are reported with their line numbers. detectDataset needs no method (the studio imports a file,
// then shows which methods fit); detectFormat refuses a dataset that does not fit the training method as a
// whole, saying what it is, what the method needs and which fields are missing.

import {
  describeFields,
  FORMAT_DESCRIPTIONS,
  FORMAT_FIELDS,
  METHOD_FORMATS,
  METHOD_NAMES,
  methodsForFormat,
  presentFields,
  recordFormat,
  type DatasetFormat,
  type FieldSet,
  type TrainingMethod,
} from './formats';
import { ErrorTally, type LineErrors } from './line-errors';
import type { ParsedRecords, SourceRecord } from './read-records';

export class DatasetMethodError extends Error {
  override readonly name = 'DatasetMethodError';
  constructor(
    readonly file: string,
    /** The message without the file. */
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

export interface DetectedRecords extends LineErrors {
  file: string;
  format: DatasetFormat;
  records: SourceRecord[];
}

/** "a preference (...)", "an Alpaca (...)". */
const withArticle = (text: string) => `${/^[aeiou]/i.test(text) ? 'an' : 'a'} ${text}`;
/** A format's name without its field list: "ShareGPT preference". */
const formatName = (format: DatasetFormat) => FORMAT_DESCRIPTIONS[format].split(' (')[0];
/** "x", "x and y", "x, y and z" (or "x, y or z"). */
function listOf(items: readonly string[], last = 'and'): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`;
}
const quoted = (fields: readonly string[]) => listOf(fields.map((f) => `"${f}"`));

/** The format of the dataset as a whole, without refusing it for any method. */
export function detectDataset(parsed: ParsedRecords): DetectedRecords {
  const counts = new Map<DatasetFormat, number>();
  const formats = parsed.records.map((r) => recordFormat(r.value));
  for (const f of formats) if (f) counts.set(f, (counts.get(f) ?? 0) + 1);
  if (counts.size === 0) {
    const first = parsed.records[0];
    const detail = first ? `line ${first.line} has ${describeFields(first.value)}` : 'no readable records';
    throw new DatasetMethodError(parsed.file, `no record matches a known dataset format (${detail})`);
  }
  const format = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const errors = new ErrorTally(parsed);
  const records: SourceRecord[] = [];
  parsed.records.forEach((r, i) => {
    const f = formats[i];
    if (f === format) records.push(r);
    else if (f) errors.add({ line: r.line, message: `is ${withArticle(FORMAT_DESCRIPTIONS[f])} record in ${withArticle(FORMAT_DESCRIPTIONS[format])} dataset` });
    else errors.add({ line: r.line, message: `has ${describeFields(r.value)}, expected ${FORMAT_DESCRIPTIONS[format]}` });
  });
  return { file: parsed.file, format, records, ...errors.result() };
}

/**
 * The method's record spelling nearest to the fields present: most fields shared, then fewest missing, then
 * most fields named alike ("chosen_messages" is like "messages", "prompt_input_ids" like "input_ids").
 */
function closestFieldSet(present: ReadonlySet<string>, formats: readonly DatasetFormat[]): { format: DatasetFormat; set: FieldSet } {
  const candidates = formats.flatMap((format) => FORMAT_FIELDS[format].map((set) => ({ format, set })));
  const shared = (s: FieldSet) => [...s.required, ...(s.optional ?? [])].filter((k) => present.has(k)).length;
  const missing = (s: FieldSet) => s.required.filter((k) => !present.has(k)).length;
  const alike = (s: FieldSet) => s.required.filter((k) => [...present].some((p) => p.endsWith(`_${k}`))).length;
  // A stable sort keeps METHOD_FORMATS' order among equals.
  const rank = (a: FieldSet, b: FieldSet) => shared(b) - shared(a) || missing(a) - missing(b) || alike(b) - alike(a);
  return [...candidates].sort((a, b) => rank(a.set, b.set))[0];
}

/** Why a dataset of `detected.format` cannot train `method`, naming the fields it lacks. */
function wrongMethodDetail(detected: DetectedRecords, method: TrainingMethod): string {
  const present = new Set(detected.records.flatMap((r) => presentFields(r.value)));
  const allowed = METHOD_FORMATS[method];
  const closest = closestFieldSet(present, allowed);
  const missing = closest.set.required.filter((k) => !present.has(k));
  let why: string;
  if (missing.length > 0) {
    why = `the nearest, ${FORMAT_DESCRIPTIONS[closest.format]}, is missing ${quoted(missing)}`;
  } else {
    // Every field the method's shape needs is there, but more fields make it another kind of record.
    const own = FORMAT_FIELDS[detected.format].find((s) => s.required.every((k) => present.has(k)));
    const extra = (own?.required ?? []).filter((k) => !closest.set.required.includes(k));
    const verb = extra.length === 1 ? 'makes' : 'make';
    why = `these have the fields of ${FORMAT_DESCRIPTIONS[closest.format]}, but ${quoted(extra)} ${verb} them ${formatName(detected.format)} records`;
  }
  const needs = listOf(allowed.map(formatName), 'or');
  const fits = listOf(methodsForFormat(detected.format).map((m) => METHOD_NAMES[m]));
  return `is ${withArticle(FORMAT_DESCRIPTIONS[detected.format])} dataset; ${method.toUpperCase()} needs ${needs} records: ${why}. This dataset fits ${fits}.`;
}

/** detectDataset, then refuses the dataset as a whole when its format cannot train `method`. */
export function detectFormat(parsed: ParsedRecords, method: TrainingMethod): DetectedRecords {
  const detected = detectDataset(parsed);
  if (!METHOD_FORMATS[method].includes(detected.format)) throw new DatasetMethodError(parsed.file, wrongMethodDetail(detected, method));
  return detected;
}
