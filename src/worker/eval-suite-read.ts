// Suite files to suite contents: which kind of suite the files hold (the user's choice, or detected from the
// records and, for the built-in suites, the file names they ship under), their items or documents with every
// bad line reported by file and line (the first KEPT_ERRORS kept, all counted, as datasets do: a file of a
// million bad lines must not send a million to the page or store them), and a few-shot pool from a train file when one was given. Nothing here
// touches storage: the eval service turns a read suite into a record when the user saves it.

import { KEPT_ERRORS } from '../engine/data/line-errors';
import { decodeUtf8, parseJsonl, type SourceRecord } from '../engine/data/read-records';
import { parseQuestions } from '../engine/eval/judge/records';
import type { HumanEvalItem, MultipleChoiceDoc, JudgeItem, RetentionItem, TaskItem } from '../engine/eval/suite-types';
import { parseGsm8k, type Gsm8kDoc } from '../engine/eval/suites/gsm8k';
import { isHumanEvalRecord, parseHumanEvalJsonl } from '../engine/eval/suites/humaneval';
import { parseHellaswagPairs } from '../engine/eval/suites/hellaswag';
import { detectMultipleChoiceShape, parseMultipleChoiceRecords } from '../engine/eval/suites/multiple-choice-shapes';
import { readRetentionItems, readTaskItems, textItemShape } from '../engine/eval/text-items';
import type { StoredBuiltinSuiteId } from '../storage/records';
import type { SuiteImportAs, SuiteLineError } from './protocol-eval';

/** The largest suite file read (a suite is kept whole in IndexedDB). */
export const MAX_SUITE_BYTES = 32_000_000;

export interface SuiteFile {
  name: string;
  bytes: Uint8Array;
}

export type SuiteBuiltin = StoredBuiltinSuiteId | 'stories-retention';

/**
 * A suite's contents by kind (the engine's types), its bad lines (the first KEPT_ERRORS, file by file and by
 * line, and their count), and the built-in it was recognised as.
 */
export type ReadSuite = { source: string; builtin?: SuiteBuiltin; errors: SuiteLineError[]; errorCount: number } & (
  | { kind: 'task'; items: TaskItem[] }
  | { kind: 'retention'; items: RetentionItem[] }
  | { kind: 'multiple-choice'; items: MultipleChoiceDoc[]; fewShotPool?: MultipleChoiceDoc[] }
  | { kind: 'gsm8k'; items: Gsm8kDoc[]; fewShotPool?: Gsm8kDoc[] }
  | { kind: 'judge'; items: JudgeItem[] }
  | { kind: 'humaneval'; items: HumanEvalItem[] }
);

/** A read that cannot make a suite at all (wrong files, nothing usable), naming the file. */
export class SuiteFileError extends Error {
  override readonly name = 'SuiteFileError';
}

/** Built-in suites recognised by the names their files are published under (and the sample tasks' in public/datasets). */
const BUILTIN_NAMES: { pattern: RegExp; builtin: SuiteBuiltin }[] = [
  { pattern: /^ARC-Easy-(test|validation)\.jsonl$/i, builtin: 'arc-easy' },
  { pattern: /^ARC-Challenge-(test|validation)\.jsonl$/i, builtin: 'arc-challenge' },
  { pattern: /^hellaswag_val_correct\.txt/i, builtin: 'hellaswag' },
  { pattern: /^validation\.normalized\.jsonl$/i, builtin: 'boolq' },
  { pattern: /^humaneval-js\.jsonl$/i, builtin: 'humaneval-js' },
  { pattern: /^mt_bench_question\.jsonl$/i, builtin: 'mt-bench' },
  { pattern: /^stories-setting-general\.jsonl$/i, builtin: 'stories-retention' },
];

/** A train split given beside the evaluated file: its few-shot pool. */
const isTrainFile = (name: string) => /(^|[-_.])train([-_.]|$)/i.test(name);

/** Refuses a file over the limit from its size alone, so the worker need not read its bytes first. */
export function checkSuiteSize(name: string, bytes: number): void {
  if (bytes > MAX_SUITE_BYTES) throw new SuiteFileError(`${name}: is ${(bytes / 1e6).toFixed(1)} MB; suites up to ${MAX_SUITE_BYTES / 1e6} MB are read`);
}

function text(file: SuiteFile): string {
  checkSuiteSize(file.name, file.bytes.byteLength);
  const decoded = decodeUtf8(file.bytes, file.name);
  if (decoded.trim() === '') throw new SuiteFileError(`${file.name}: is empty`);
  return decoded;
}

/** Engine line errors carry "file:line: " in their message already; the page shows the rest beside the line. */
function lineErrors(file: string, errors: readonly { line: number; message: string }[]): SuiteLineError[] {
  const prefix = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: `);
  return errors.map((e) => ({ file, line: e.line, message: e.message.replace(prefix, '') }));
}

/** The first KEPT_ERRORS bad lines (the files in the order they were read, each by line) and how many there were. */
function keptLineErrors(errors: readonly SuiteLineError[]): { errors: SuiteLineError[]; errorCount: number } {
  const files = [...new Set(errors.map((e) => e.file))];
  const ordered = [...errors].sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line);
  return { errors: ordered.slice(0, KEPT_ERRORS), errorCount: errors.length };
}

function records(file: SuiteFile): { records: SourceRecord[]; errors: SuiteLineError[] } {
  const parsed = parseJsonl(text(file), file.name);
  return { records: parsed.records, errors: lineErrors(file.name, parsed.errors) };
}

const isGsm8k = (v: unknown) => !!v && typeof v === 'object' && typeof (v as Record<string, unknown>).answer === 'string' && /####/.test((v as Record<string, string>).answer) && 'question' in v;
const isJudgeQuestion = (v: unknown) => !!v && typeof v === 'object' && 'question_id' in v && 'turns' in v;

/** The kind the records say, judged by the first record that fits one. */
function detectKind(values: readonly unknown[], file: string): Exclude<SuiteImportAs, 'auto'> {
  for (const v of values) {
    if (isHumanEvalRecord(v)) return 'humaneval';
    if (isJudgeQuestion(v)) return 'judge';
    if (isGsm8k(v)) return 'gsm8k';
    if (detectMultipleChoiceShape(v)) return 'multiple-choice';
    const text = textItemShape(v);
    if (text) return text;
  }
  throw new SuiteFileError(
    `${file}: no line is a suite record: expected a task {prompt, reference}, a text {text}, a multiple-choice record (ARC, BoolQ, HellaSwag or {query, choices, gold}), GSM8K {question, answer "… #### N"}, a HumanEval-JS problem {name, prompt, tests, stop_tokens} or an MT-Bench question {question_id, turns}`,
  );
}

function readMultipleChoice(evalFile: SuiteFile, train: SuiteFile | undefined): Omit<Extract<ReadSuite, { kind: 'multiple-choice' }>, 'source' | 'errorCount'> {
  const { records: recs, errors } = records(evalFile);
  const parsed = parseMultipleChoiceRecords(recs, evalFile.name);
  const result = { kind: 'multiple-choice' as const, items: parsed.docs, errors: [...errors, ...lineErrors(evalFile.name, parsed.errors)] };
  if (!train) return result;
  const pool = records(train);
  const poolParsed = parseMultipleChoiceRecords(pool.records, train.name, parsed.shape);
  return { ...result, fewShotPool: poolParsed.docs, errors: [...result.errors, ...pool.errors, ...lineErrors(train.name, poolParsed.errors)] };
}

function readGsm8k(evalFile: SuiteFile, train: SuiteFile | undefined): Omit<Extract<ReadSuite, { kind: 'gsm8k' }>, 'source' | 'errorCount'> {
  const parsed = parseGsm8k(text(evalFile), evalFile.name);
  const errors = lineErrors(evalFile.name, parsed.errors);
  if (!train) return { kind: 'gsm8k', items: parsed.docs, errors };
  const pool = parseGsm8k(text(train), train.name);
  return { kind: 'gsm8k', items: parsed.docs, fewShotPool: pool.docs, errors: [...errors, ...lineErrors(train.name, pool.errors)] };
}

function readJudge(file: SuiteFile): Omit<Extract<ReadSuite, { kind: 'judge' }>, 'source' | 'errorCount'> {
  const parsed = parseQuestions(text(file), file.name);
  return {
    kind: 'judge',
    items: parsed.items.map((q) => ({ id: String(q.questionId), category: q.category, turns: q.turns })),
    errors: parsed.errors.map((e) => ({ file: e.file, line: e.line, message: e.message.replace(`${e.file}:${e.line}: `, '') })),
  };
}

/** HellaSwag's asset: two text files with the same contexts, the correct and the first wrong ending. */
function readHellaswag(files: readonly SuiteFile[]): Omit<Extract<ReadSuite, { kind: 'multiple-choice' }>, 'source' | 'errorCount'> {
  const correct = files.find((f) => /correct/i.test(f.name));
  const wrong = files.find((f) => /wrong/i.test(f.name));
  if (!correct || !wrong) throw new SuiteFileError('HellaSwag (hellaswag-ppl-800) needs both files: hellaswag_val_correct.txt.800 and hellaswag_val_wrong.txt.800');
  try {
    return { kind: 'multiple-choice', items: parseHellaswagPairs(text(correct), text(wrong), correct.name), errors: [] };
  } catch (err) {
    throw new SuiteFileError((err as Error).message);
  }
}

/**
 * Reads one suite from its files: the evaluated file, and optionally a train file (few-shot pool) or, for
 * HellaSwag's asset, its wrong-ending file. Throws SuiteFileError when the files cannot make a suite.
 */
export function readSuiteFiles(files: readonly SuiteFile[], as: SuiteImportAs): ReadSuite {
  if (files.length === 0) throw new SuiteFileError('Pick a suite file first.');
  if (files.length > 2) throw new SuiteFileError(`A suite is read from one file, or two (the evaluated split and a train split for few-shot examples); got ${files.length}.`);
  const source = files.map((f) => f.name).join(' + ');
  if (files.some((f) => /^hellaswag_val_(correct|wrong)/i.test(f.name))) return { source, builtin: 'hellaswag', ...readHellaswag(files) } as ReadSuite;
  const train = files.length === 2 ? files.find((f) => isTrainFile(f.name)) : undefined;
  const evalFile = files.find((f) => f !== train)!;
  if (files.length === 2 && !train) throw new SuiteFileError(`Two files make a suite when one is a train split (its name contains "train"): ${source}.`);
  const builtin = BUILTIN_NAMES.find((b) => b.pattern.test(evalFile.name))?.builtin ?? (/^test\.jsonl$/i.test(evalFile.name) && isGsm8kFile(evalFile) ? 'gsm8k' : undefined);
  const kind = as === 'auto' ? detectKind(records(evalFile).records.map((r) => r.value), evalFile.name) : as;
  let read: Omit<ReadSuite, 'source' | 'builtin' | 'errorCount'>;
  switch (kind) {
    case 'multiple-choice':
      read = readMultipleChoice(evalFile, train);
      break;
    case 'gsm8k':
      read = readGsm8k(evalFile, train);
      break;
    case 'judge':
      read = readJudge(evalFile);
      break;
    case 'task': {
      const { records: recs, errors } = records(evalFile);
      const parsed = readTaskItems(recs, evalFile.name);
      read = { kind, items: parsed.items, errors: [...errors, ...lineErrors(evalFile.name, parsed.errors)] };
      break;
    }
    case 'retention': {
      const { records: recs, errors } = records(evalFile);
      const parsed = readRetentionItems(recs, evalFile.name);
      read = { kind, items: parsed.items, errors: [...errors, ...lineErrors(evalFile.name, parsed.errors)] };
      break;
    }
    case 'humaneval': {
      const parsed = parseHumanEvalJsonl(text(evalFile), evalFile.name);
      read = { kind, items: parsed.items, errors: lineErrors(evalFile.name, parsed.errors) };
      break;
    }
  }
  if (train && kind !== 'multiple-choice' && kind !== 'gsm8k') throw new SuiteFileError(`${train.name}: only multiple-choice and GSM8K suites take a train file for few-shot examples.`);
  // A built-in recognised by name keeps its harness settings only if the records are of its kind.
  const fits = builtin && (builtinKind(builtin) === read.kind);
  const suite = { source, ...(fits ? { builtin } : {}), ...read, ...keptLineErrors(read.errors) } as ReadSuite;
  if (suite.items.length === 0) {
    const first = suite.errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`);
    throw new SuiteFileError(`${evalFile.name}: has no usable ${kind} records${first.length ? ` (${first.join('; ')})` : ''}`);
  }
  return suite;
}

function isGsm8kFile(file: SuiteFile): boolean {
  const first = records(file).records[0]?.value;
  return isGsm8k(first);
}

export function builtinKind(builtin: SuiteBuiltin): ReadSuite['kind'] {
  switch (builtin) {
    case 'arc-easy':
    case 'arc-challenge':
    case 'hellaswag':
    case 'boolq':
      return 'multiple-choice';
    case 'gsm8k':
      return 'gsm8k';
    case 'humaneval-js':
      return 'humaneval';
    case 'mt-bench':
      return 'judge';
    case 'stories-retention':
      return 'retention';
  }
}
