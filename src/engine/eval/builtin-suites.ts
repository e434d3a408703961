// The suites that ship with Tunelab: their protocol settings and where their data lives. The data is not
// bundled here: a caller reads the files named by `builtinSuiteFiles` (the CLI from disk, the studio from
// its served assets) and builtin-items.ts turns the text into items.
//
// Splits, few-shot pools and metrics follow lm-evaluation-harness's task yaml (lm_eval/tasks/..., commit
// 4e7e0d4); GSM8K's generation and scoring settings are suites/gsm8k.ts's GSM8K_DEFAULTS.
//   arc_easy / arc_challenge: test split, few-shot examples from train, acc and acc_norm.
//   hellaswag: validation, acc and acc_norm; few-shot from train in the harness, which the asset lacks.
//   boolq: validation, acc only; few-shot from train in the harness, but the train asset has no passages.
//   gsm8k: test, 5-shot from train.
//   humaneval-js: MultiPL-E's 161 problems; completions cut at each problem's stop tokens; pass@1 greedy,
//     512 new tokens (MultiPL-E's --max-tokens default), 15 s per program.
//   stories-retention: stories260K's own stories kept aside (public/datasets/stories-setting/general.jsonl,
//     40 stories the base model wrote from BOS, never trained on): token perplexity before and after.

import type { EvalSuiteSpec, FewShotOptions } from './suite-types';
import { GSM8K_DEFAULTS } from './suites/gsm8k';

export const BUILTIN_SUITE_IDS = ['arc-easy', 'arc-challenge', 'hellaswag', 'boolq', 'gsm8k', 'humaneval-js', 'stories-retention'] as const;
export type BuiltinRunnableSuiteId = (typeof BUILTIN_SUITE_IDS)[number];

/**
 * A data file of a built-in suite. `assets`: the benchmarks' folder the user names (the CLI's --datasets),
 * laid out as the benchmarks publish their files; `samples`: the project's own sample tasks (public/datasets, served by the studio at /datasets).
 */
export interface BuiltinDataFile {
  root: 'assets' | 'samples';
  path: string;
}

export interface BuiltinSuiteFiles {
  /** The evaluated split (HellaSwag: the correct-ending file, then the wrong-ending file). */
  items: BuiltinDataFile[];
  /** Where few-shot examples come from; absent: the evaluated docs themselves. */
  fewShotPool?: BuiltinDataFile;
}

const assets = (path: string): BuiltinDataFile => ({ root: 'assets', path });

const FILES: Record<BuiltinRunnableSuiteId, BuiltinDataFile[]> = {
  'arc-easy': [assets('arc/ARC-Easy-test.jsonl')],
  'arc-challenge': [assets('arc/ARC-Challenge-test.jsonl')],
  hellaswag: [assets('hellaswag-ppl-800/hellaswag_val_correct.txt.800'), assets('hellaswag-ppl-800/hellaswag_val_wrong.txt.800')],
  boolq: [assets('boolq/validation.normalized.jsonl')],
  gsm8k: [assets('gsm8k/test.jsonl')],
  'humaneval-js': [assets('humaneval-js/humaneval-js.jsonl')],
  'stories-retention': [{ root: 'samples', path: 'stories-setting/general.jsonl' }],
};

/** The train splits few-shot examples come from (the others draw from their own items, never the item scored). */
const FEW_SHOT_FILES: Partial<Record<BuiltinRunnableSuiteId, BuiltinDataFile>> = {
  'arc-easy': assets('arc/ARC-Easy-train.jsonl'),
  'arc-challenge': assets('arc/ARC-Challenge-train.jsonl'),
  gsm8k: assets('gsm8k/train.jsonl'),
};

const NAMES: Record<BuiltinRunnableSuiteId, string> = {
  'arc-easy': 'ARC-Easy',
  'arc-challenge': 'ARC-Challenge',
  hellaswag: 'HellaSwag (800 validation items, 2 endings)',
  boolq: 'BoolQ',
  gsm8k: 'GSM8K',
  'humaneval-js': 'HumanEval-JS',
  'stories-retention': 'stories260K retention (its own stories kept aside)',
};

/** The task names exported results use: the harness's where the suite mirrors one of its tasks. */
export const HARNESS_TASK_NAMES: Record<BuiltinRunnableSuiteId, string> = {
  'arc-easy': 'arc_easy',
  'arc-challenge': 'arc_challenge',
  hellaswag: 'hellaswag',
  boolq: 'boolq',
  gsm8k: 'gsm8k',
  'humaneval-js': 'humaneval_js',
  'stories-retention': 'stories_retention',
};

/** Where a built-in suite departs from the task it mirrors, shown beside its results. */
export const BUILTIN_NOTES: Partial<Record<BuiltinRunnableSuiteId, string>> = {
  hellaswag:
    'First 800 validation items with 2 endings (the correct one and the first wrong one) instead of 4, so chance is 50%; few-shot examples come from the other items. Not comparable with published HellaSwag scores.',
  boolq: 'Few-shot examples come from the other validation items: the bundled train split has no passages.',
};

/** Multiple-choice metrics as each yaml lists them. */
const MC_METRICS = { 'arc-easy': ['acc', 'acc_norm'], 'arc-challenge': ['acc', 'acc_norm'], hellaswag: ['acc', 'acc_norm'], boolq: ['acc'] } as const;

/** The harness's default shot counts (num_fewshot in the yaml; unset means 0). */
const DEFAULT_SHOTS: Partial<Record<BuiltinRunnableSuiteId, number>> = { gsm8k: GSM8K_DEFAULTS.shots };

export const HUMANEVAL_MAX_NEW_TOKENS = 512;
export const HUMANEVAL_TIMEOUT_MS = 15_000;

export interface BuiltinSuiteOptions {
  /** Only the first `limit` items. */
  limit?: number;
  /** Few-shot count for the suites that take examples (default: the harness's). */
  shots?: number;
  /** Seed of the few-shot draw and of sampled generations (default 1234, the harness's few-shot seed). */
  seed?: number;
  /** createdAt (default 0: built-in specs are the same whenever they are made). */
  createdAt?: number;
}

export function isBuiltinSuiteId(name: string): name is BuiltinRunnableSuiteId {
  return (BUILTIN_SUITE_IDS as readonly string[]).includes(name);
}

export function builtinSuiteFiles(id: BuiltinRunnableSuiteId): BuiltinSuiteFiles {
  const fewShotPool = FEW_SHOT_FILES[id];
  return fewShotPool ? { items: FILES[id], fewShotPool } : { items: FILES[id] };
}

/** The suite spec of a built-in suite with the caller's limit, shots and seed. */
export function builtinSuiteSpec(id: BuiltinRunnableSuiteId, options: BuiltinSuiteOptions = {}): EvalSuiteSpec {
  const base = { id, name: NAMES[id], createdAt: options.createdAt ?? 0 };
  const limit = options.limit !== undefined ? { limit: options.limit } : {};
  const fewShot: FewShotOptions = { shots: options.shots ?? DEFAULT_SHOTS[id] ?? 0, seed: options.seed ?? 1234 };
  switch (id) {
    case 'arc-easy':
    case 'arc-challenge':
    case 'hellaswag':
    case 'boolq':
      return {
        ...base,
        kind: 'multiple-choice',
        origin: { type: 'builtin', builtin: id },
        options: { ...limit, fewShot, metrics: [...MC_METRICS[id]] },
      };
    case 'gsm8k':
      return {
        ...base,
        kind: 'gsm8k',
        origin: { type: 'builtin', builtin: id },
        options: {
          ...limit,
          fewShot,
          generation: { maxNewTokens: GSM8K_DEFAULTS.maxNewTokens, stop: [...GSM8K_DEFAULTS.stop] },
          exactMatch: { ...GSM8K_DEFAULTS.exactMatch, regexesToIgnore: [...GSM8K_DEFAULTS.exactMatch.regexesToIgnore] },
        },
      };
    case 'humaneval-js':
      return {
        ...base,
        kind: 'humaneval',
        origin: { type: 'builtin', builtin: id },
        // Each problem's own stop tokens are added to these.
        options: { ...limit, generation: { maxNewTokens: HUMANEVAL_MAX_NEW_TOKENS, stop: [] }, ks: [1], timeoutMs: HUMANEVAL_TIMEOUT_MS },
      };
    case 'stories-retention':
      // Not one of the shared datasets: the project's own sample file.
      return { ...base, kind: 'retention', origin: { type: 'file', fileName: `public/datasets/${FILES[id][0].path}` }, options: limit };
  }
}
