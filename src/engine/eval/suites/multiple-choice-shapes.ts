// Multiple-choice records in the shapes their datasets ship, turned into MultipleChoiceDocs with
// lm-evaluation-harness's prompts. A user JSONL file may use any one of them; its shape is detected from
// its first record that fits one, and every line is then read in that shape, bad lines reported by line
// number and field instead of stopping the import.
//   arc:       {id, question, choices: {text[], label[]}, answerKey}   arc_easy.yaml: "Question: {{question}}\nAnswer:",
//              choices = choices.text, gold = choices.label.index(answerKey) (labels "A".."E" or "1".."5")
//   boolq:     {question, passage, answer: bool} or super_glue's {..., label: 0|1}
//              super_glue/boolq/default.yaml: "{{passage}}\nQuestion: {{question}}?\nAnswer:", choices [no, yes]
//   hellaswag: HF Rowan/hellaswag {ctx_a, ctx_b (or ctx), activity_label, endings[], label}
//              hellaswag/utils.py process_docs: preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize())
//   generic:   {query | context, choices: string[], gold: index}   (the harness's processed-doc fields)

import { parseJsonl } from '../../data/read-records';
import type { MultipleChoiceDoc } from '../suite-types';
import { hellaswagQuery, hellaswagPreprocess } from './hellaswag';

export type MultipleChoiceShape = 'arc' | 'boolq' | 'hellaswag' | 'generic';

/** One unusable line: where it is and which field is wrong. */
export interface EvalLineError {
  line: number;
  /** The offending field ("" when the line itself is the problem, e.g. not JSON). */
  field: string;
  message: string;
}

export interface ParsedMultipleChoice {
  shape: MultipleChoiceShape;
  docs: MultipleChoiceDoc[];
  errors: EvalLineError[];
}

class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

type Rec = Record<string, unknown>;

function str(r: Rec, field: string): string {
  const v = r[field];
  if (typeof v !== 'string') throw new FieldError(field, `${field} must be a string, got ${describe(v)}`);
  return v;
}

function nonEmptyStrings(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.length < 2) throw new FieldError(field, `${field} must be a list of at least 2 strings, got ${describe(v)}`);
  v.forEach((c, i) => {
    if (typeof c !== 'string') throw new FieldError(`${field}[${i}]`, `${field}[${i}] must be a string, got ${describe(c)}`);
    if (c.trim() === '') throw new FieldError(`${field}[${i}]`, `${field}[${i}] is empty`);
  });
  return v as string[];
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function goldIndex(v: unknown, field: string, count: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= count) {
    throw new FieldError(field, `${field} must be a choice index from 0 to ${count - 1}, got ${describe(v)}`);
  }
  return n;
}

function recordId(r: Rec, fallback: string): string {
  for (const key of ['id', 'ind', 'idx', 'question_id']) {
    const v = r[key];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return fallback;
}

function arcDoc(r: Rec, id: string): MultipleChoiceDoc {
  const question = str(r, 'question');
  const choices = r.choices as Rec | undefined;
  if (!choices || typeof choices !== 'object' || Array.isArray(choices)) throw new FieldError('choices', `choices must be an object {text, label}, got ${describe(choices)}`);
  const text = nonEmptyStrings(choices.text, 'choices.text');
  const labels = choices.label;
  if (!Array.isArray(labels) || labels.length !== text.length || !labels.every((l) => typeof l === 'string')) {
    throw new FieldError('choices.label', `choices.label must be ${text.length} strings, one per choices.text`);
  }
  const answerKey = str(r, 'answerKey');
  const gold = labels.indexOf(answerKey);
  if (gold < 0) throw new FieldError('answerKey', `answerKey "${answerKey}" is not one of choices.label (${labels.join(', ')})`);
  return { id, query: `Question: ${question}\nAnswer:`, choices: text, gold };
}

function boolqDoc(r: Rec, id: string): MultipleChoiceDoc {
  const passage = str(r, 'passage');
  const question = str(r, 'question');
  let gold: number;
  if ('answer' in r) {
    if (typeof r.answer !== 'boolean') throw new FieldError('answer', `answer must be true or false, got ${describe(r.answer)}`);
    gold = r.answer ? 1 : 0;
  } else gold = goldIndex(r.label, 'label', 2);
  return { id, query: `${passage}\nQuestion: ${question}?\nAnswer:`, choices: ['no', 'yes'], gold };
}

function hellaswagDoc(r: Rec, id: string): MultipleChoiceDoc {
  const activity = str(r, 'activity_label');
  let ctxA: string;
  let ctxB = '';
  if ('ctx_a' in r || !('ctx' in r)) {
    ctxA = str(r, 'ctx_a');
    ctxB = str(r, 'ctx_b');
  } else ctxA = str(r, 'ctx');
  const endings = nonEmptyStrings(r.endings, 'endings');
  return { id, query: hellaswagQuery(activity, ctxA, ctxB), choices: endings.map(hellaswagPreprocess), gold: goldIndex(r.label, 'label', endings.length) };
}

function genericDoc(r: Rec, id: string): MultipleChoiceDoc {
  const field = 'query' in r ? 'query' : 'context';
  const query = str(r, field);
  const choices = nonEmptyStrings(r.choices, 'choices');
  return { id, query, choices, gold: goldIndex(r.gold, 'gold', choices.length) };
}

const READERS: Record<MultipleChoiceShape, (r: Rec, id: string) => MultipleChoiceDoc> = {
  arc: arcDoc,
  boolq: boolqDoc,
  hellaswag: hellaswagDoc,
  generic: genericDoc,
};

/** The shape a record is written in, judged by its keys; undefined when it fits none. */
export function detectMultipleChoiceShape(value: unknown): MultipleChoiceShape | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const r = value as Rec;
  if ('answerKey' in r && 'question' in r) return 'arc';
  if ('passage' in r && 'question' in r) return 'boolq';
  if ('endings' in r && ('ctx_a' in r || 'ctx' in r)) return 'hellaswag';
  if (('query' in r || 'context' in r) && 'choices' in r && 'gold' in r) return 'generic';
  return undefined;
}

/** Records (value + 1-based line) read in one shape, or in the shape of the first record that has one. */
export function parseMultipleChoiceRecords(records: readonly { line: number; value: unknown }[], file: string, shape?: MultipleChoiceShape): ParsedMultipleChoice {
  const found = shape ?? records.map((r) => detectMultipleChoiceShape(r.value)).find((s) => s !== undefined);
  if (!found) {
    throw new Error(
      `${file}: no line is a multiple-choice record: expected ARC {question, choices: {text, label}, answerKey}, ` +
        `BoolQ {passage, question, answer}, HellaSwag {ctx_a, ctx_b, activity_label, endings, label} or {query, choices, gold}`,
    );
  }
  const docs: MultipleChoiceDoc[] = [];
  const errors: EvalLineError[] = [];
  for (const { line, value } of records) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      errors.push({ line, field: '', message: `${file}:${line}: must be a JSON object` });
      continue;
    }
    try {
      docs.push(READERS[found](value as Rec, recordId(value as Rec, `${file}:${line}`)));
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      errors.push({ line, field: err.field, message: `${file}:${line}: ${err.message}` });
    }
  }
  return { shape: found, docs, errors };
}

/** A JSONL file of multiple-choice records (any one shape above); lines that are not JSON are errors too. */
export function parseMultipleChoiceFile(text: string, file: string, shape?: MultipleChoiceShape): ParsedMultipleChoice {
  const parsed = parseJsonl(text, file);
  const result = parseMultipleChoiceRecords(parsed.records, file, shape);
  const jsonErrors = parsed.errors.map((e) => ({ line: e.line, field: '', message: `${file}:${e.line}: ${e.message}` }));
  return { ...result, errors: [...jsonErrors, ...result.errors].sort((a, b) => a.line - b.line) };
}
