// A read suite to its stored record and back: the spec a saved suite gets (a recognised built-in keeps
// lm-evaluation-harness's settings from builtin-suites.ts; a user file gets the defaults of its kind, and a
// task suite the metric settings the user chose), and a stored record to the engine's spec and items for one
// evaluation (the evaluation's shots, seed and limit applied; multiple-choice and GSM8K prompts built then).

import { builtinSuiteSpec, isBuiltinSuiteId } from '../engine/eval/builtin-suites';
import type { EvalSuiteSpec, Gsm8kItem, HumanEvalItem, JudgeItem, MultipleChoiceItem, RetentionItem, TaskItem } from '../engine/eval/suite-types';
import { gsm8kItems } from '../engine/eval/suites/gsm8k';
import { multipleChoiceItems } from '../engine/eval/suites/multiple-choice';
import type { EvalSuiteRecord, StoredEvalSuiteSpec, StoredRecordError } from '../storage/records';
import type { ReadSuite } from './eval-suite-read';
import type { TaskSuiteSettings } from './protocol-eval';

/** The judge's defaults at import: the evaluation chooses the judge, mode and prompts. */
const JUDGE_DEFAULTS = { mode: 'pairwise' as const, judge: { type: 'local' as const, modelId: '' }, prompts: {}, generation: { maxNewTokens: 256, stop: [] } };

/** The stored spec of a suite read from files. Throws when a task suite comes without its settings. */
function specOf(read: ReadSuite, id: string, name: string, createdAt: number, task: TaskSuiteSettings | undefined): StoredEvalSuiteSpec {
  const base = { id, name, createdAt };
  const fileOrigin = { type: 'file' as const, fileName: read.source };
  if (read.builtin && isBuiltinSuiteId(read.builtin)) {
    const builtin = builtinSuiteSpec(read.builtin, { createdAt });
    return { ...(builtin as StoredEvalSuiteSpec), ...base };
  }
  switch (read.kind) {
    case 'task': {
      if (!task) throw new Error('A task suite needs its generation and metric settings.');
      return {
        ...base,
        kind: 'task',
        origin: fileOrigin,
        options: { generation: { maxNewTokens: task.maxNewTokens, stop: [...task.stop] }, metrics: task.metrics, perplexity: task.perplexity },
      };
    }
    case 'retention':
      return { ...base, kind: 'retention', origin: fileOrigin, options: {} };
    case 'multiple-choice':
      return { ...base, kind: 'multiple-choice', origin: fileOrigin, options: { fewShot: { shots: 0, seed: 1234 }, metrics: ['acc', 'acc_norm'] } };
    case 'gsm8k':
      // A GSM8K-shaped user file is scored as the harness's gsm8k task.
      return { ...(builtinSuiteSpec('gsm8k', { createdAt }) as StoredEvalSuiteSpec), ...base, origin: fileOrigin };
    case 'judge':
      return { ...base, kind: 'judge', origin: read.builtin === 'mt-bench' ? { type: 'builtin', builtin: 'mt-bench' } : fileOrigin, options: JUDGE_DEFAULTS };
    case 'humaneval':
      // A HumanEval-shaped user file is run as MultiPL-E runs humaneval-js.
      return { ...(builtinSuiteSpec('humaneval-js', { createdAt }) as StoredEvalSuiteSpec), ...base, origin: fileOrigin };
  }
}

/** The record a read suite is saved as: its spec, its items (or documents and pool), and the lines skipped (the first 100 kept, all counted). */
export function suiteRecord(read: ReadSuite, header: { id: string; name: string; createdAt: number }, task?: TaskSuiteSettings): EvalSuiteRecord {
  const spec = specOf(read, header.id, header.name, header.createdAt, task);
  const skipped: StoredRecordError[] = read.errors.map((e) => ({ line: e.line, message: `${e.file}: ${e.message}` }));
  const pool = 'fewShotPool' in read && read.fewShotPool ? { fewShotPool: read.fewShotPool } : {};
  if (spec.kind !== read.kind) throw new Error(`The suite's files hold ${read.kind} records but its settings are those of a ${spec.kind} suite.`);
  return { ...spec, items: read.items, skipped, skippedCount: read.errorCount, ...pool } as EvalSuiteRecord;
}

/** What one evaluation overrides in every suite: few-shot count, seed, item limit. */
export interface RunOverrides {
  shots: number;
  seed: number;
  limit?: number;
}

export type EngineSuite =
  | { spec: Extract<EvalSuiteSpec, { kind: 'task' }>; items: TaskItem[] }
  | { spec: Extract<EvalSuiteSpec, { kind: 'multiple-choice' }>; items: MultipleChoiceItem[] }
  | { spec: Extract<EvalSuiteSpec, { kind: 'gsm8k' }>; items: Gsm8kItem[] }
  | { spec: Extract<EvalSuiteSpec, { kind: 'retention' }>; items: RetentionItem[] }
  | { spec: Extract<EvalSuiteSpec, { kind: 'judge' }>; items: JudgeItem[] }
  | { spec: Extract<EvalSuiteSpec, { kind: 'humaneval' }>; items: HumanEvalItem[] };

const limited = <T>(items: readonly T[], limit: number | undefined): T[] => (limit === undefined ? [...items] : items.slice(0, limit));

/** The engine's spec and items of a stored suite, with the evaluation's overrides; prompts built here. */
export function engineSuite(record: EvalSuiteRecord, run: RunOverrides): EngineSuite {
  const limit = run.limit !== undefined ? { limit: run.limit } : {};
  switch (record.kind) {
    case 'task': {
      const { items, skipped: _s, skippedCount: _c, ...spec } = record;
      return { spec: { ...spec, options: { ...spec.options, ...limit } }, items: limited(items, run.limit) };
    }
    case 'retention': {
      const { items, skipped: _s, skippedCount: _c, ...spec } = record;
      return { spec: { ...spec, options: { ...spec.options, ...limit } }, items: limited(items, run.limit) };
    }
    case 'judge': {
      const { items, skipped: _s, skippedCount: _c, ...spec } = record;
      return { spec: { ...spec, options: { ...spec.options, ...limit } }, items: limited(items, run.limit) };
    }
    case 'multiple-choice': {
      const { items, skipped: _s, skippedCount: _c, fewShotPool, ...spec } = record;
      const fewShot = { shots: run.shots, seed: run.seed };
      const built = multipleChoiceItems(items, { ...fewShot, ...(fewShotPool ? { pool: fewShotPool } : {}) }, run.limit);
      return { spec: { ...spec, options: { ...spec.options, ...limit, fewShot } }, items: built };
    }
    case 'gsm8k': {
      const { items, skipped: _s, skippedCount: _c, fewShotPool, ...spec } = record;
      const fewShot = { shots: run.shots, seed: run.seed };
      const built = gsm8kItems(items, { ...fewShot, pool: fewShotPool ?? items }, run.limit);
      return { spec: { ...spec, options: { ...spec.options, ...limit, fewShot } }, items: built };
    }
    case 'humaneval': {
      const { items, skipped: _s, skippedCount: _c, ...spec } = record;
      return { spec: { ...spec, options: { ...spec.options, ...limit } }, items: limited(items, run.limit) };
    }
  }
}
