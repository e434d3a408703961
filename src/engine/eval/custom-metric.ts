// A user's custom metric: JavaScript source of a function `(output, item) => number`, run in the CodeSandbox
// once per evaluated item with a time limit per call. Whatever goes wrong with one item (it throws, returns
// something that is not a finite number, runs past its limit, calls fetch or touches storage, which the
// sandbox turns into errors) becomes that item's error, with the message kept, and the next item runs.
// Source that does not even evaluate to a function is refused before any item runs (checkCustomMetric).

import type { CodeSandbox } from './sandbox';

export class CustomMetricError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CustomMetricError';
  }
}

/**
 * How the sandbox programs name a user's scoring function: the variable they bind it to and the words their
 * error messages use. Custom metrics (here) and custom GRPO rewards (src/engine/train/grpo/rewards) share the
 * programs below, so a reward and a metric fail with the same kinds of messages.
 */
export interface ScoringFunctionRole {
  /** The variable the program binds the function to (a JavaScript identifier). */
  binding: string;
  /** How messages name the function, e.g. "the metric". */
  label: string;
  /** Its expected shape, e.g. "(output, item) => number". */
  signature: string;
}

const METRIC_ROLE: ScoringFunctionRole = { binding: 'metric', label: 'the metric', signature: '(output, item) => number' };

/**
 * The statement that binds the user's source (an arrow function, a function expression or a function
 * declaration, which becomes a named function expression here) to `binding`. The source is the initializer
 * of a declaration rather than wrapped in parentheses, so a trailing semicolon or // comment still parses.
 */
export function bindScoringFunction(binding: string, source: string): string {
  return `const ${binding} = ` + source.trim() + '\n;';
}

/** A JavaScript string literal of `text`, for the messages the programs build. */
const literal = (text: string): string => JSON.stringify(text);

/** Program lines that throw a TypeError unless the bound value is a function. */
export function scoringFunctionCheckLines(role: ScoringFunctionRole): string[] {
  const b = role.binding;
  const message = literal(`${role.label} must be a function ${role.signature}, but the source gives a `);
  return [`if (typeof ${b} !== 'function') throw new TypeError(${message} + (${b} === null ? 'null' : typeof ${b}));`];
}

/** Program lines that throw unless `scoreVariable` holds a finite number (not a Promise, string, NaN, ...). */
export function scoreCheckLines(role: ScoringFunctionRole, scoreVariable: string): string[] {
  const s = scoreVariable;
  const returned = literal(`${role.label} returned `);
  return [
    `if (${s} !== null && typeof ${s} === 'object' && typeof ${s}.then === 'function') throw new TypeError(${literal(`${role.label} returned a Promise: it must return a number synchronously`)});`,
    `if (typeof ${s} !== 'number') throw new TypeError(${returned} + (${s} === null ? 'null' : typeof ${s} === 'string' ? 'a string (' + JSON.stringify(${s}.slice(0, 80)) + ')' : 'a ' + typeof ${s}) + ', not a number');`,
    `if (!Number.isFinite(${s})) throw new RangeError(${returned} + ${s} + ', not a finite number');`,
  ];
}

/** The job that defines the metric and checks it is a function (evaluated once, before the items). */
export function customMetricCheckProgram(source: string): string {
  return [bindScoringFunction(METRIC_ROLE.binding, source), ...scoringFunctionCheckLines(METRIC_ROLE), 'return metric.length;'].join('\n');
}

/** The job for one item: calls the metric on input.output and input.item and checks the result. */
export function customMetricItemProgram(source: string): string {
  return [
    bindScoringFunction(METRIC_ROLE.binding, source),
    ...scoringFunctionCheckLines(METRIC_ROLE),
    'const score = metric(input.output, input.item);',
    ...scoreCheckLines(METRIC_ROLE, 'score'),
    'return score;',
  ].join('\n');
}

/** Throws CustomMetricError (with the sandbox's message) unless the source evaluates to a function. */
export async function checkCustomMetric(sandbox: CodeSandbox, source: string, timeLimitMs: number): Promise<void> {
  if (source.trim() === '') throw new CustomMetricError('the custom metric is empty: write a function (output, item) => number');
  const outcome = await sandbox.run({ code: customMetricCheckProgram(source), timeLimitMs });
  if (!outcome.ok) throw new CustomMetricError(`the custom metric does not compile: ${outcome.error ?? 'unknown error'}`);
}

/** One item to score: the model's output and the item's record (JSON), as the metric receives them. */
export interface CustomMetricInput {
  output: string;
  item: unknown;
}

export interface CustomMetricScores {
  /** Per item, in order: the score, or undefined where the item has an error. */
  scores: (number | undefined)[];
  /** Per item: why it has no score ("TypeError: ...", "timed out after 500 ms"), or undefined. */
  errors: (string | undefined)[];
  /** Per item: the console lines the metric wrote. */
  logs: string[][];
  /** True when `signal` stopped the run; the arrays then hold the items finished. */
  cancelled: boolean;
}

export interface CustomMetricOptions {
  /** Per call, in ms. */
  timeLimitMs: number;
  signal?: AbortSignal;
  onItemDone?: (done: number) => void;
}

/** Checks the metric, then scores every input in the sandbox; per-item failures never stop the run. */
export async function runCustomMetric(
  sandbox: CodeSandbox,
  source: string,
  inputs: readonly CustomMetricInput[],
  options: CustomMetricOptions,
): Promise<CustomMetricScores> {
  await checkCustomMetric(sandbox, source, options.timeLimitMs);
  const code = customMetricItemProgram(source);
  const result: CustomMetricScores = { scores: [], errors: [], logs: [], cancelled: false };
  for (const input of inputs) {
    if (options.signal?.aborted) {
      result.cancelled = true;
      break;
    }
    const outcome = await sandbox.run({ code, timeLimitMs: options.timeLimitMs, input: { output: input.output, item: input.item } });
    const ok = outcome.ok && typeof outcome.value === 'number';
    result.scores.push(ok ? (outcome.value as number) : undefined);
    result.errors.push(ok ? undefined : (outcome.error ?? 'the metric gave no score'));
    result.logs.push(outcome.logs);
    options.onItemDone?.(result.scores.length);
  }
  return result;
}
