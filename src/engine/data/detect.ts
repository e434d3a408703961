// Decides a dataset's format from its records: the most common format wins, records of another format or
// no format are reported with their line numbers; a dataset whose format does not fit the training method
// is refused as a whole, saying what it is and what the method needs.

import { describeFields, FORMAT_DESCRIPTIONS, METHOD_FORMATS, recordFormat, type DatasetFormat, type TrainingMethod } from './formats';
import type { ParsedRecords, RecordError, SourceRecord } from './read-records';

export class DatasetMethodError extends Error {
  override readonly name = 'DatasetMethodError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

export interface DetectedRecords {
  file: string;
  format: DatasetFormat;
  records: SourceRecord[];
  errors: RecordError[];
}

export function detectFormat(parsed: ParsedRecords, method: TrainingMethod): DetectedRecords {
  const counts = new Map<DatasetFormat, number>();
  const formats = parsed.records.map((r) => recordFormat(r.value));
  for (const f of formats) if (f) counts.set(f, (counts.get(f) ?? 0) + 1);
  if (counts.size === 0) {
    const first = parsed.records[0];
    const detail = first ? `line ${first.line} has ${describeFields(first.value)}` : 'no readable records';
    throw new DatasetMethodError(parsed.file, `no record matches a known dataset format (${detail})`);
  }
  const format = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const allowed = METHOD_FORMATS[method];
  if (!allowed.includes(format)) {
    throw new DatasetMethodError(
      parsed.file,
      `is a ${FORMAT_DESCRIPTIONS[format]} dataset; ${method.toUpperCase()} needs ${allowed.map((f) => FORMAT_DESCRIPTIONS[f]).join(' or ')}`,
    );
  }
  const errors = [...parsed.errors];
  const records: SourceRecord[] = [];
  parsed.records.forEach((r, i) => {
    const f = formats[i];
    if (f === format) records.push(r);
    else if (f) errors.push({ line: r.line, message: `is a ${FORMAT_DESCRIPTIONS[f]} record in a ${FORMAT_DESCRIPTIONS[format]} dataset` });
    else errors.push({ line: r.line, message: `has ${describeFields(r.value)}, expected ${FORMAT_DESCRIPTIONS[format]}` });
  });
  errors.sort((a, b) => a.line - b.line);
  return { file: parsed.file, format, records, errors };
}
