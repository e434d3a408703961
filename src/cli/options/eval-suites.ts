// `tunelab eval --suite ...` flags: the base model and each --adapter on every suite of the list.

import { BUILTIN_SUITE_IDS } from '../../engine/eval/builtin-suites';
import { formatHelp, hasSwitch, integerFlag, numberFlag, parseFlags, requiredString, stringFlag, stringList, UsageError, type FlagSpec } from '../args';
import { COMMON_FLAGS, MODEL_FLAGS, readCommonArgs, readModelArgs, type CommonArgs, type ModelArgs } from './common';

export interface EvalSuiteArgs extends CommonArgs, Omit<ModelArgs, 'adapter'> {
  /** Built-in suite names and JSONL files, in order. */
  suites: string[];
  /** Evaluated after the base, in order. */
  adapters: string[];
  limit?: number;
  shots?: number;
  seed: number;
  batchSize: number;
  /** Overrides every generation suite's token limit. */
  maxNewTokens?: number;
  /** Samples per item (> 1: seeded sampling at --temperature, pass@k for k <= n). */
  samples: number;
  temperature: number;
  topP: number;
  /** Task files: a format regex, matched against the output or the prompt followed by it. */
  regex?: { pattern: string; target: 'output' | 'prompt+output' };
  /** Task files: JavaScript source of (output, item) => number, and its name in the scores. */
  customMetric?: { path: string };
  /** The folder of the built-in benchmarks' files (else $TUNELAB_DATASETS; the sample suites need neither). */
  datasetsDir?: string;
  json?: string;
  logSamples?: string;
  /** Run the base model too (default); --no-base evaluates only the adapters. */
  base: boolean;
}

export const EVAL_SUITE_FLAGS: FlagSpec[] = [
  { name: 'suite', value: 'LIST', help: `comma-separated suites: ${BUILTIN_SUITE_IDS.join(', ')}, or a JSONL file (multiple choice, prompt/reference task, {text} or HumanEval records; detected)` },
  { name: 'adapter', value: 'DIR', repeatable: true, help: 'a PEFT adapter to compare with the base (repeat for several)' },
  { name: 'limit', value: 'N', help: 'only the first N items of each suite' },
  { name: 'shots', value: 'K', help: 'few-shot examples per item for multiple choice and GSM8K (default: the harness task\'s, GSM8K 5, others 0)' },
  { name: 'seed', value: 'S', help: 'few-shot draws and sampled generations (default 1234)' },
  { name: 'max-new-tokens', value: 'N', help: 'token limit of every generation suite (default: the suite\'s; GSM8K 256, HumanEval 512, tasks 128)' },
  { name: 'samples', value: 'N', help: 'generations per item, sampled at --temperature (default 1: greedy); HumanEval reports pass@k for k = 1, 10, 100 up to N' },
  { name: 'temperature', value: 'T', help: 'sampling temperature with --samples (default 0.8)' },
  { name: 'top-p', value: 'P', help: 'nucleus sampling with --samples (default 0.95)' },
  { name: 'regex', value: 'PATTERN', help: 'task files: the rate at which outputs match this JavaScript regular expression' },
  { name: 'regex-target', value: 'WHAT', help: 'output (default) or prompt+output (backreferences into the prompt)' },
  { name: 'custom-metric', value: 'FILE.js', help: 'task files: a JavaScript function (output, item) => number, run sandboxed per item' },
  { name: 'batch-size', value: 'B', help: 'items per GPU submit for log-likelihoods, sequences per batch for generation (default 8)' },
  { name: 'datasets', value: 'DIR', help: 'folder of the built-in benchmarks\' files: arc/, boolq/, gsm8k/, hellaswag-ppl-800/, humaneval-js/ (or env TUNELAB_DATASETS; stories-retention needs none)' },
  { name: 'json', value: 'OUT', help: 'also write the JSON result to this file' },
  { name: 'log-samples', value: 'OUT', help: 'write every item\'s outcome (output, scores, log-likelihoods, errors) as JSONL' },
  { name: 'no-base', help: 'evaluate only the adapters (no base column, no comparison)' },
];

export const EVAL_SUITES_HELP_SECTION =
  'Suites (--suite): the base model and each --adapter on every suite; per suite the metrics with their\n' +
  'standard errors, and per adapter the difference from the base, paired over items (marked * when over\n' +
  'twice its standard error) with a forgetting row for the general suites. stdout (and --json) holds the\n' +
  'base\'s lm-evaluation-harness results ({results: {task: {"metric,filter", "metric_stderr,filter"}}}),\n' +
  '"adapters" with each adapter\'s, and the comparisons; progress and the table go to stderr.';

export function isSuiteMode(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--suite' || a.startsWith('--suite='));
}

export function parseEvalSuiteArgs(argv: readonly string[]): EvalSuiteArgs {
  const flags = parseFlags('eval', argv, [...MODEL_FLAGS, ...EVAL_SUITE_FLAGS, ...COMMON_FLAGS]);
  const list = requiredString(flags, 'suite', 'arc-easy,hellaswag');
  const suites = list.split(',').map((s) => s.trim());
  if (suites.some((s) => s === '')) throw new UsageError(`--suite must be a comma-separated list of suites or files, got "${list}"`);
  const duplicate = suites.find((s, i) => suites.indexOf(s) !== i);
  if (duplicate) throw new UsageError(`--suite lists ${duplicate} twice`);
  const samples = integerFlag(flags, 'samples', { min: { value: 1 } }) ?? 1;
  const temperature = numberFlag(flags, 'temperature', { min: { value: 0, exclusive: true } });
  const topP = numberFlag(flags, 'top-p', { min: { value: 0, exclusive: true }, max: { value: 1 } });
  if (samples === 1 && (temperature !== undefined || topP !== undefined)) throw new UsageError('--temperature and --top-p apply to sampled runs: give --samples N (N > 1)');
  const pattern = stringFlag(flags, 'regex');
  const target = stringFlag(flags, 'regex-target');
  if (target !== undefined && target !== 'output' && target !== 'prompt+output') throw new UsageError(`--regex-target must be output or prompt+output, got "${target}"`);
  if (target !== undefined && pattern === undefined) throw new UsageError('--regex-target needs --regex');
  if (pattern !== undefined) {
    try {
      new RegExp(pattern);
    } catch (err) {
      throw new UsageError(`--regex is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  const adapters = stringList(flags, 'adapter');
  const base = !hasSwitch(flags, 'no-base');
  if (!base && adapters.length === 0) throw new UsageError('--no-base needs at least one --adapter');
  const custom = stringFlag(flags, 'custom-metric');
  const { adapter: _ignored, ...model } = readModelArgs(flags);
  return {
    ...readCommonArgs(flags),
    ...model,
    suites,
    adapters,
    limit: integerFlag(flags, 'limit', { min: { value: 1 } }),
    shots: integerFlag(flags, 'shots', { min: { value: 0 } }),
    seed: integerFlag(flags, 'seed', { min: { value: 0 } }) ?? 1234,
    batchSize: integerFlag(flags, 'batch-size', { min: { value: 1 } }) ?? 8,
    maxNewTokens: integerFlag(flags, 'max-new-tokens', { min: { value: 1 } }),
    samples,
    temperature: temperature ?? 0.8,
    topP: topP ?? 0.95,
    ...(pattern !== undefined ? { regex: { pattern, target: (target ?? 'output') as 'output' | 'prompt+output' } } : {}),
    ...(custom !== undefined ? { customMetric: { path: custom } } : {}),
    datasetsDir: stringFlag(flags, 'datasets'),
    json: stringFlag(flags, 'json'),
    logSamples: stringFlag(flags, 'log-samples'),
    base,
  };
}

/** The suite-mode flags as help text (appended to tunelab eval --help). */
export function evalSuitesHelp(): string {
  return formatHelp(
    'tunelab eval --model DIR|HUB-ID [--adapter DIR ...] --suite LIST [--limit N] [--shots K] [--json OUT] [options]',
    EVAL_SUITES_HELP_SECTION,
    EVAL_SUITE_FLAGS,
  );
}
