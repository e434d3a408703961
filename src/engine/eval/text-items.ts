// Items of the two plain-JSONL suite shapes this file reads, with per-line errors naming the field:
//   retention: {"text": "..."}                  general text whose perplexity is compared before and after
//   task:      {"prompt": ..., "reference": ...} a prompt (string or chat messages) and its reference output;
//              the reference may also be called completion, answer, target or output (prompt-completion
//              datasets evaluate as they train), and a chat completion's messages are joined with "\n".

import type { SourceRecord } from '../data/read-records';
import type { RetentionItem, TaskItem } from './suite-types';
import type { EvalLineError } from './suites/multiple-choice-shapes';

export const REFERENCE_FIELDS = ['reference', 'completion', 'answer', 'target', 'output'] as const;

type Rec = Record<string, unknown>;

const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The shape of one record: which of the two it is, or undefined. */
export function textItemShape(value: unknown): 'task' | 'retention' | undefined {
  if (!isRecord(value)) return undefined;
  if ('prompt' in value && REFERENCE_FIELDS.some((f) => f in value)) return 'task';
  if (typeof value.text === 'string') return 'retention';
  return undefined;
}

function messages(v: unknown, field: string): { role: string; content: string }[] {
  if (!Array.isArray(v) || v.length === 0) throw new LineFieldError(field, `${field} must be a string or a non-empty list of {role, content} messages`);
  return v.map((m, i) => {
    if (!isRecord(m) || typeof m.role !== 'string' || typeof m.content !== 'string') {
      throw new LineFieldError(`${field}[${i}]`, `${field}[${i}] must be {"role": string, "content": string}`);
    }
    return { role: m.role, content: m.content };
  });
}

class LineFieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function taskItem(r: Rec, line: number): TaskItem {
  const prompt = typeof r.prompt === 'string' ? r.prompt : messages(r.prompt, 'prompt');
  const field = REFERENCE_FIELDS.find((f) => f in r)!;
  const raw = r[field];
  const reference = typeof raw === 'string' ? raw : messages(raw, field).map((m) => m.content).join('\n');
  const id = typeof r.id === 'string' || typeof r.id === 'number' ? String(r.id) : `line-${line}`;
  return { id, prompt, reference, record: r };
}

function retentionItem(r: Rec, line: number): RetentionItem {
  if (typeof r.text !== 'string') throw new LineFieldError('text', 'text must be a string');
  if (r.text.trim() === '') throw new LineFieldError('text', 'text is empty');
  const id = typeof r.id === 'string' || typeof r.id === 'number' ? String(r.id) : `line-${line}`;
  return { id, text: r.text };
}

export interface ParsedTextItems<T> {
  items: T[];
  errors: EvalLineError[];
}

function readAll<T>(records: readonly SourceRecord[], file: string, make: (r: Rec, line: number) => T): ParsedTextItems<T> {
  const items: T[] = [];
  const errors: EvalLineError[] = [];
  for (const { line, value } of records) {
    try {
      if (!isRecord(value)) throw new LineFieldError('', 'the line is not a JSON object');
      items.push(make(value, line));
    } catch (err) {
      if (!(err instanceof LineFieldError)) throw err;
      errors.push({ line, field: err.field, message: `${file}:${line}: ${err.message}` });
    }
  }
  return { items, errors };
}

/** Task items of a file's records; `file` names it in the errors. */
export function readTaskItems(records: readonly SourceRecord[], file: string): ParsedTextItems<TaskItem> {
  return readAll(records, file, (r, line) => {
    if (!('prompt' in r)) throw new LineFieldError('prompt', 'prompt is missing');
    if (!REFERENCE_FIELDS.some((f) => f in r)) throw new LineFieldError('reference', `a reference is missing (one of ${REFERENCE_FIELDS.join(', ')})`);
    return taskItem(r, line);
  });
}

/** Retention items of a file's records; `file` names it in the errors. */
export function readRetentionItems(records: readonly SourceRecord[], file: string): ParsedTextItems<RetentionItem> {
  return readAll(records, file, retentionItem);
}
