// A user's suite file (JSONL) as a runnable suite. The kind is detected from the first record that fits one:
//   HumanEval problem {name: "HumanEval_...", prompt, tests, stop_tokens}          -> humaneval
//   multiple choice in ARC, BoolQ, HF HellaSwag or {query, choices, gold} shape    -> multiple-choice (acc, acc_norm)
//   {prompt, reference | completion | answer | target | output}                      -> task
//   {text}                                                                          -> retention (perplexity)
// Every line is then read in that kind; bad lines come back as errors (file:line: field ...) and are skipped:
// the first KEPT_ERRORS by line with a count of them all, as datasets keep theirs (data/line-errors.ts).

import { ErrorTally } from '../data/line-errors';
import { parseJsonl, type SourceRecord } from '../data/read-records';
import { DEFAULT_MAX_NEW_TOKENS } from '../model/generation-options';
import type { LoadedSuite } from './run-suite';
import type { EvalSuiteKind, GenerationOptions, TaskMetricSettings } from './suite-types';
import { isHumanEvalRecord, parseHumanEvalJsonl } from './suites/humaneval';
import { multipleChoiceItems } from './suites/multiple-choice';
import { detectMultipleChoiceShape, parseMultipleChoiceRecords, type EvalLineError } from './suites/multiple-choice-shapes';
import { readRetentionItems, readTaskItems, textItemShape } from './text-items';
import { HUMANEVAL_MAX_NEW_TOKENS, HUMANEVAL_TIMEOUT_MS } from './builtin-suites';

export interface SuiteFileOptions {
  /** Suite id and name (default: the file name). */
  id?: string;
  name?: string;
  limit?: number;
  /** Few-shot examples per multiple-choice item, drawn from the file's other items (default 0). */
  shots?: number;
  seed?: number;
  /** Task and HumanEval generation (default: greedy, 128 new tokens for tasks, 512 for HumanEval). */
  generation?: Partial<GenerationOptions>;
  /** Task metrics (default: exact match, contains and ROUGE-L). */
  metrics?: Partial<TaskMetricSettings>;
  /** Task suites: loss and perplexity of the references (default true). */
  perplexity?: boolean;
  createdAt?: number;
}

export interface ParsedSuiteFile {
  suite: LoadedSuite;
  /** The first KEPT_ERRORS bad lines by line. */
  errors: EvalLineError[];
  /** How many lines were bad in all. */
  errorCount: number;
}

/** The first KEPT_ERRORS of `errors` by line, and their count. */
function keptErrors(errors: readonly EvalLineError[]): { errors: EvalLineError[]; errorCount: number } {
  const tally = new ErrorTally();
  for (const e of errors) tally.add(e);
  // ErrorTally keeps the very objects it is given, fields and all.
  return { errors: tally.result().errors as EvalLineError[], errorCount: tally.errorCount };
}

function detectKind(records: readonly SourceRecord[], file: string): EvalSuiteKind {
  for (const { value } of records) {
    if (isHumanEvalRecord(value)) return 'humaneval';
    if (detectMultipleChoiceShape(value)) return 'multiple-choice';
    const text = textItemShape(value);
    if (text) return text;
  }
  throw new Error(
    `${file}: no line is an evaluation record: expected multiple choice ({query, choices, gold}, ARC, BoolQ or HellaSwag), ` +
      `a task {prompt, reference}, general text {text} or a HumanEval problem {name, prompt, tests, stop_tokens}`,
  );
}

/**
 * Parses `text` (the file's contents) into a suite with all its items (options.limit goes into the spec,
 * for runSuite); throws when no line is usable.
 */
export function readSuiteFile(text: string, file: string, options: SuiteFileOptions = {}): ParsedSuiteFile {
  const parsed = parseJsonl(text, file);
  const jsonErrors: EvalLineError[] = parsed.errors.map((e) => ({ line: e.line, field: '', message: `${file}:${e.line}: ${e.message}` }));
  const kind = detectKind(parsed.records, file);
  const base = { id: options.id ?? file, name: options.name ?? file, origin: { type: 'file' as const, fileName: file }, createdAt: options.createdAt ?? 0 };
  const limit = options.limit !== undefined ? { limit: options.limit } : {};
  const withErrors = (suite: LoadedSuite, errors: EvalLineError[]): ParsedSuiteFile => {
    if (suite.items.length === 0) throw new Error(`${file}: no usable ${kind} records${errors[0] ? `; first problem: ${errors[0].message}` : ''}`);
    return { suite, ...keptErrors([...jsonErrors, ...errors]) };
  };
  const generation = (maxNewTokens: number): GenerationOptions => ({ maxNewTokens, stop: [], ...options.generation });

  switch (kind) {
    case 'multiple-choice': {
      const mc = parseMultipleChoiceRecords(parsed.records, file);
      const fewShot = { shots: options.shots ?? 0, seed: options.seed ?? 1234 };
      const spec = { ...base, kind, options: { ...limit, fewShot, metrics: ['acc' as const, 'acc_norm' as const] } };
      return withErrors({ spec, items: multipleChoiceItems(mc.docs, fewShot) }, mc.errors);
    }
    case 'task': {
      const task = readTaskItems(parsed.records, file);
      const metrics: TaskMetricSettings = { exactMatch: true, contains: true, rougeL: true, ...options.metrics };
      const spec = { ...base, kind, options: { ...limit, generation: generation(DEFAULT_MAX_NEW_TOKENS), metrics, perplexity: options.perplexity ?? true } };
      return withErrors({ spec, items: task.items }, task.errors);
    }
    case 'retention': {
      const docs = readRetentionItems(parsed.records, file);
      return withErrors({ spec: { ...base, kind, options: limit }, items: docs.items }, docs.errors);
    }
    case 'humaneval': {
      const he = parseHumanEvalJsonl(text, file);
      const spec = { ...base, kind, options: { ...limit, generation: generation(HUMANEVAL_MAX_NEW_TOKENS), ks: [1], timeoutMs: HUMANEVAL_TIMEOUT_MS } };
      // parseHumanEvalJsonl reports the JSON errors itself.
      return { ...withErrors({ spec, items: he.items }, he.errors), ...keptErrors(he.errors) };
    }
    default:
      throw new Error(`${file}: ${kind} suites are not read from files here`);
  }
}
