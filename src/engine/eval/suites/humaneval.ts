// HumanEval in JavaScript, as MultiPL-E evaluates it (its humaneval-js.jsonl release):
// the model completes each problem's prompt (a doc comment and `function NAME(args){`); the completion is
// cut at the first of the problem's stop sequences (MultiPL-E's stop_at_stop_token, multipl_e/completions.py);
// prompt + completion + "\n" + tests runs as one program, and the problem passes when it runs to its end
// without throwing (exit code 0 under node in MultiPL-E). MultiPL-E kills a program after 15 s
// (evaluation/src/safe_subprocess/__init__.py, run(timeout_seconds=15)): HUMANEVAL_TIMEOUT_MS.
// Here the program runs in the CodeSandbox, whose require('node:assert') gives the tests their deepEqual.
//
// Licence: MultiPL-E's translations are under a BSD 3-Clause licence with a Machine Learning Restriction
// (clause 4: not to be used as training data for any machine learning model). The set is for evaluation
// only: HUMANEVAL_JS_EVALUATION_ONLY is the reason shown, and trainingRefusal() is the check the studio's
// Data page and the CLI's training data loaders make on imported records.

import { parseJsonl } from '../../data/read-records';
import type { CodeSandbox } from '../sandbox';
import type { ItemOutcome, KindResult } from '../run-types';
import type { HumanEvalItem, SuiteScores } from '../suite-types';
import { meanPassAtK, passAtKKey, type PassCount } from '../metrics/pass-at-k';
import type { EvalLineError } from './multiple-choice-shapes';

export const HUMANEVAL_JS_EVALUATION_ONLY =
  'HumanEval-JS (MultiPL-E) is licensed for evaluation only: its licence forbids using it as training data for any machine learning model.';

export interface ParsedHumanEval {
  items: HumanEvalItem[];
  errors: EvalLineError[];
}

/** A MultiPL-E HumanEval record: {name: "HumanEval_<n>_...", prompt, tests, stop_tokens}. */
export function isHumanEvalRecord(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r.name === 'string' && /^HumanEval_\d+/.test(r.name) && typeof r.prompt === 'string' && typeof r.tests === 'string' && Array.isArray(r.stop_tokens);
}

/** Why these records may not be trained on (some of them are HumanEval problems), or undefined. */
export function trainingRefusal(records: readonly unknown[]): string | undefined {
  const index = records.findIndex(isHumanEvalRecord);
  if (index < 0) return undefined;
  const name = (records[index] as { name: string }).name;
  return `record ${index + 1} (${name}) is a HumanEval problem. ${HUMANEVAL_JS_EVALUATION_ONLY}`;
}

/** Reads humaneval-js.jsonl (or a file in its shape); bad lines are reported by line and field, not fatal. */
export function parseHumanEvalJsonl(text: string, file: string): ParsedHumanEval {
  const parsed = parseJsonl(text, file);
  const errors: EvalLineError[] = parsed.errors.map((e) => ({ line: e.line, field: '', message: `${file}:${e.line}: ${e.message}` }));
  const items: HumanEvalItem[] = [];
  for (const { line, value } of parsed.records) {
    const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    const bad = (field: string, what: string) => errors.push({ line, field, message: `${file}:${line}: ${field} ${what}` });
    if (typeof r.name !== 'string' || r.name === '') bad('name', 'must be a non-empty string');
    else if (typeof r.prompt !== 'string' || r.prompt === '') bad('prompt', 'must be a non-empty string');
    else if (typeof r.tests !== 'string' || r.tests === '') bad('tests', 'must be a non-empty string');
    else if (!Array.isArray(r.stop_tokens) || !r.stop_tokens.every((s) => typeof s === 'string' && s !== '')) {
      bad('stop_tokens', 'must be a list of non-empty strings');
    } else items.push({ name: r.name, prompt: r.prompt, tests: r.tests, stopTokens: r.stop_tokens as string[] });
  }
  return { items, errors };
}

/** The completion up to (not including) the earliest occurrence of any stop sequence. */
export function cutAtStopTokens(completion: string, stopTokens: readonly string[]): string {
  let end = completion.length;
  for (const stop of stopTokens) {
    const at = completion.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  return completion.slice(0, end);
}

/** The program MultiPL-E runs: prompt + completion (already cut) + "\n" + tests. */
export function humanEvalProgram(item: HumanEvalItem, cutCompletion: string): string {
  return item.prompt + cutCompletion + '\n' + item.tests;
}

/** One completion's run. */
export interface HumanEvalRun {
  passed: boolean;
  /** The completion after the stop-sequence cut: what was run. */
  completion: string;
  error?: string;
  timedOut: boolean;
  ms: number;
}

/** Cuts the raw completion at the problem's stop sequences and runs the program in the sandbox. */
export async function runHumanEvalCompletion(sandbox: CodeSandbox, item: HumanEvalItem, rawCompletion: string, timeLimitMs: number): Promise<HumanEvalRun> {
  const completion = cutAtStopTokens(rawCompletion, item.stopTokens);
  const outcome = await sandbox.run({ code: humanEvalProgram(item, completion), timeLimitMs });
  const run: HumanEvalRun = { passed: outcome.ok, completion, timedOut: outcome.timedOut, ms: outcome.ms };
  if (!outcome.ok) run.error = outcome.error ?? 'failed';
  return run;
}

export interface ScoreHumanEvalOptions {
  /** Per program (default: MultiPL-E's 15 s, builtin-suites.ts HUMANEVAL_TIMEOUT_MS). */
  timeLimitMs: number;
  /** The k of each pass@k; every problem needs at least max(ks) samples. */
  ks: readonly number[];
  /** Stops between programs; the result then holds the problems finished. */
  signal?: AbortSignal;
  /** Called after each problem with the problems finished. */
  onProblemDone?: (done: number) => void;
}

/**
 * Scores raw completions: `samples[i]` are problem i's completions (one greedy, or n sampled). Each item's
 * scores hold its pass@k estimates, so the suite's pass@k (their mean) is scores[passAtKKey(k)].
 */
export async function scoreHumanEval(
  sandbox: CodeSandbox,
  items: readonly HumanEvalItem[],
  samples: readonly (readonly string[])[],
  options: ScoreHumanEvalOptions,
): Promise<KindResult> {
  if (samples.length !== items.length) throw new RangeError(`HumanEval: ${items.length} problems but ${samples.length} sets of completions`);
  const maxK = Math.max(...options.ks);
  samples.forEach((s, i) => {
    if (s.length < maxK) throw new RangeError(`HumanEval: ${items[i].name} has ${s.length} completions, pass@${maxK} needs at least ${maxK}`);
  });
  const outcomes: ItemOutcome[] = [];
  const counts: PassCount[] = [];
  let cancelled = false;
  for (let i = 0; i < items.length; i++) {
    if (options.signal?.aborted) {
      cancelled = true;
      break;
    }
    const runs: HumanEvalRun[] = [];
    for (const completion of samples[i]) runs.push(await runHumanEvalCompletion(sandbox, items[i], completion, options.timeLimitMs));
    const count = { n: runs.length, c: runs.filter((r) => r.passed).length };
    counts.push(count);
    const scores: Record<string, number> = {};
    for (const k of options.ks) scores[passAtKKey(k)] = meanPassAtK([count], k).value;
    const outcome: ItemOutcome = {
      id: items[i].name,
      output: runs[0].completion,
      scores,
      detail: { passed: count.c, samples: count.n, runs: runs.map((r) => ({ passed: r.passed, timedOut: r.timedOut, ms: Math.round(r.ms), ...(r.error ? { error: r.error } : {}) })) },
    };
    if (runs.length > 1) outcome.outputs = runs.map((r) => r.completion);
    const firstError = runs.find((r) => !r.passed)?.error;
    if (firstError !== undefined && count.c === 0) outcome.error = firstError;
    outcomes.push(outcome);
    options.onProblemDone?.(outcomes.length);
  }
  const scores: SuiteScores = {};
  if (counts.length > 0) for (const k of options.ks) scores[passAtKKey(k)] = meanPassAtK(counts, k);
  return { scores, items: outcomes, cancelled };
}
