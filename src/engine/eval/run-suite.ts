// The evaluation runner: one suite on one model. Platform-free (no DOM, no Node), so the CLI and the
// studio's worker run the same code.
//
// API
//   runSuite(spec, items, model, ctx): Promise<SuiteResult>
//     spec:  an EvalSuiteSpec (suite-types.ts); its options.limit keeps the first `limit` items.
//     items: the items of spec.kind (ItemsOf[kind]): MultipleChoiceItem, Gsm8kItem, TaskItem, HumanEvalItem,
//            RetentionItem. builtin-items.ts loads the built-in suites, suite-file.ts a user's JSONL.
//     model: { lm: ScoringLm (CpuCausalLm or GpuCausalLm), tokenizer: ModelTokenizer }.
//     ctx:   { sandbox?: CodeSandbox (HumanEval and custom metrics need one), signal?: AbortSignal,
//              onProgress?({ done, total, etaSeconds }), batchSize (items or sequences per model call),
//              seed (sampled generations when the suite names none) }.
//   SuiteResult = { suiteId, suiteName, kind, scores: SuiteScores ("metric,filter" -> {value, stderr}),
//     items: ItemOutcome[] (output text, per-metric scores whose mean is the suite value, error, detail),
//     total, cancelled, ms }.
//   A cancel (ctx.signal) stops between batches and resolves with `cancelled: true`, the items finished and
//   their scores; a failing item (encoding, sandbox, custom metric) keeps its error and the run goes on;
//   a failing model call (device lost) rejects.
//
// Kinds: multiple-choice (run-multiple-choice.ts), gsm8k (run-gsm8k.ts), task (run-task.ts), humaneval
// (run-humaneval.ts), retention (run-retention.ts). Judge suites have their own runner (judge/).
// Before and after: before-after.ts runs several suites on the base and on each adapter and compares them.

import type { EvalModel, KindResult, RunContext, SuiteResult } from './run-types';
import { runGsm8k } from './run-gsm8k';
import { runHumanEval } from './run-humaneval';
import { runMultipleChoice } from './run-multiple-choice';
import { runRetention } from './run-retention';
import { runTask } from './run-task';
import type { EvalSuiteKind, EvalSuiteSpec, Gsm8kItem, HumanEvalItem, JudgeItem, MultipleChoiceItem, RetentionItem, TaskItem } from './suite-types';

export type { EvalModel, ItemOutcome, KindResult, RunContext, SuiteResult } from './run-types';
export type { EvalProgress, ProgressListener } from './eval-progress';

/** The item type of each kind. */
export interface ItemsOf {
  task: TaskItem;
  'multiple-choice': MultipleChoiceItem;
  gsm8k: Gsm8kItem;
  humaneval: HumanEvalItem;
  retention: RetentionItem;
  judge: JudgeItem;
}

type SpecOf<K extends EvalSuiteKind> = Extract<EvalSuiteSpec, { kind: K }>;

/** A suite with its items, typed together (what loaders return and runBeforeAfter takes). */
export type LoadedSuite = { [K in EvalSuiteKind]: { spec: SpecOf<K>; items: ItemsOf[K][] } }[EvalSuiteKind];

function checkContext(ctx: RunContext): void {
  if (!Number.isInteger(ctx.batchSize) || ctx.batchSize < 1) throw new RangeError(`batchSize must be an integer >= 1, got ${ctx.batchSize}`);
  if (!Number.isInteger(ctx.seed)) throw new RangeError(`seed must be an integer, got ${ctx.seed}`);
}

async function runKind(suite: LoadedSuite, model: EvalModel, ctx: RunContext): Promise<KindResult> {
  switch (suite.spec.kind) {
    case 'multiple-choice':
      return runMultipleChoice(suite.spec, suite.items as MultipleChoiceItem[], model, ctx);
    case 'gsm8k':
      return runGsm8k(suite.spec, suite.items as Gsm8kItem[], model, ctx);
    case 'task':
      return runTask(suite.spec, suite.items as TaskItem[], model, ctx);
    case 'humaneval':
      return runHumanEval(suite.spec, suite.items as HumanEvalItem[], model, ctx);
    case 'retention':
      return runRetention(suite.spec, suite.items as RetentionItem[], model, ctx);
    case 'judge':
      throw new Error(`suite ${suite.spec.name} is an LLM-as-a-judge suite: run it with the judge (tunelab judge, or the Evaluate page's judge)`);
  }
}

/** Runs one suite on one model; see the file header. */
export async function runSuite<S extends EvalSuiteSpec>(spec: S, items: readonly ItemsOf[S['kind']][], model: EvalModel, ctx: RunContext): Promise<SuiteResult> {
  checkContext(ctx);
  const limit = spec.options.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new RangeError(`suite ${spec.name}: limit must be an integer >= 1, got ${limit}`);
  const chosen = limit === undefined ? items.slice() : items.slice(0, limit);
  if (chosen.length === 0) throw new Error(`suite ${spec.name} has no items`);
  const started = performance.now();
  const result = await runKind({ spec, items: chosen } as LoadedSuite, model, ctx);
  return {
    suiteId: spec.id,
    suiteName: spec.name,
    kind: spec.kind,
    scores: result.scores,
    items: result.items,
    total: chosen.length,
    cancelled: result.cancelled,
    ms: performance.now() - started,
  };
}
