// Eval suites attached to a training run: at each evaluation of the loop they score the adapter as trained
// so far (the first `limit` items of each, the same items every time, so the curve moves only with the
// adapter), and when the run completes its last evaluation is compared with the base model on the same items
// (paired differences and the forgetting row, as the Evaluate page compares). The engine's runner does the
// scoring (runSuite); judge suites need a second model and are refused here.

import type { CodeSandbox } from '../engine/eval/sandbox';
import { runSuite, type SuiteResult } from '../engine/eval/run-suite';
import type { GpuCausalLm } from '../engine/model/gpu/gpu-model';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import { EvalSuiteNotFoundError, getEvalSuite } from '../storage/eval-suites-store';
import type { StudioDb } from '../storage/db';
import type { EvalSuiteRecord, StoredRunEvalSuite, StoredRunSuiteComparison, StoredRunSuiteScores } from '../storage/records';
import { compareTargets } from './eval-compare';
import { engineSuite, type EngineSuite } from './eval-suite-records';
import { runSuitesProblem } from './run-suite-limits';

/** Sequences per model call while a run evaluates its suites. */
const SUITE_BATCH = 8;
/** Few-shot examples of the suites that take them (the suite's own seed draws them). */
const RUN_SHOTS = 0;

/** Needs the code sandbox: HumanEval, or a task suite with a custom metric. */
const needsSandbox = (r: EvalSuiteRecord) => r.kind === 'humaneval' || (r.kind === 'task' && r.options.metrics.customMetric !== undefined);

/** Checks the attachments a run asks for before the run is stored (the form checked them too). */
export function checkRunSuites(attached: readonly StoredRunEvalSuite[]): void {
  const problem = runSuitesProblem(attached);
  if (problem) throw new RangeError(problem);
}

export class RunSuites {
  /** The adapted side of the latest complete evaluation, kept for the comparison at the end. */
  private latest: { step: number; results: SuiteResult[] } | null = null;

  private constructor(
    private readonly suites: readonly EngineSuite[],
    private readonly records: readonly EvalSuiteRecord[],
    private readonly sandboxFactory: () => CodeSandbox,
    /** Suites attached to the run that are no longer saved (a resume goes on without them). */
    readonly missing: readonly string[],
  ) {}

  /**
   * Reads the attached suites. `strict` (a new run): a deleted suite is an error; otherwise (a resume) it is
   * left out and named in `missing`.
   */
  static async load(db: StudioDb, attached: readonly StoredRunEvalSuite[], seed: number, sandboxFactory: () => CodeSandbox, strict: boolean): Promise<RunSuites> {
    const records: EvalSuiteRecord[] = [];
    const missing: string[] = [];
    for (const a of attached) {
      try {
        records.push(await getEvalSuite(db, a.id));
      } catch (err) {
        if (!(err instanceof EvalSuiteNotFoundError)) throw err;
        if (strict) throw new Error(`The eval suite "${a.name}" is no longer saved: import it again on the Evaluate page or detach it.`);
        missing.push(a.name);
      }
    }
    return RunSuites.fromRecords(records, attached, seed, sandboxFactory, missing);
  }

  /** The suites of stored records, each limited as `attached` says (by id). */
  static fromRecords(
    records: readonly EvalSuiteRecord[],
    attached: readonly StoredRunEvalSuite[],
    seed: number,
    sandboxFactory: () => CodeSandbox,
    missing: readonly string[] = [],
  ): RunSuites {
    checkRunSuites(attached);
    const judge = records.find((r) => r.kind === 'judge');
    if (judge) throw new Error(`The suite "${judge.name}" holds judge questions: a judge needs a second model, so run it on the Evaluate page.`);
    const limits = new Map(attached.map((a) => [a.id, a.limit]));
    const suites = records.map((r) => engineSuite(r, { shots: RUN_SHOTS, seed, limit: limits.get(r.id) }));
    const empty = suites.find((s) => s.items.length === 0);
    if (empty) throw new Error(`The eval suite "${empty.spec.name}" has no items.`);
    return new RunSuites(suites, records, sandboxFactory, missing);
  }

  get count(): number {
    return this.suites.length;
  }

  /**
   * Scores every suite on `model` as it is now (the caller attaches the adapter). A cancel returns null:
   * an evaluation cut short is not a point on the curve.
   */
  async evaluate(model: GpuCausalLm, tokenizer: ModelTokenizer, step: number, signal?: AbortSignal): Promise<StoredRunSuiteScores[] | null> {
    const results = await this.score(model, tokenizer, signal);
    if (!results) return null;
    this.latest = { step, results };
    return results.map(scoresOf);
  }

  /** The step of the latest complete evaluation (null: none in this session). */
  get latestStep(): number | null {
    return this.latest?.step ?? null;
  }

  /**
   * The latest evaluation against the base model (the caller detaches the adapter first): each metric's
   * difference with its paired standard error, and the retention suites' perplexity change.
   */
  async compareWithBase(model: GpuCausalLm, tokenizer: ModelTokenizer): Promise<StoredRunSuiteComparison> {
    const latest = this.latest;
    if (!latest) throw new Error('the run has no complete evaluation of its suites to compare');
    const base = await this.score(model, tokenizer, undefined);
    if (!base) throw new Error('the base model\u2019s evaluation was cancelled');
    const { comparisons, forgetting } = compareTargets([
      ...base.map((result) => ({ target: 0, result })),
      ...latest.results.map((result) => ({ target: 1, result })),
    ]);
    return {
      step: latest.step,
      comparedAt: new Date().toISOString(),
      base: base.map(scoresOf),
      adapted: latest.results.map(scoresOf),
      comparisons,
      forgetting,
      ...(this.missing.length ? { message: `Left out (no longer saved): ${this.missing.join(', ')}.` } : {}),
    };
  }

  private async score(model: GpuCausalLm, tokenizer: ModelTokenizer, signal: AbortSignal | undefined): Promise<SuiteResult[] | null> {
    const sandbox = this.records.some(needsSandbox) ? this.sandboxFactory() : undefined;
    try {
      const results: SuiteResult[] = [];
      for (const suite of this.suites) {
        const result = await runSuite(suite.spec, suite.items as never[], { lm: model, tokenizer }, {
          batchSize: SUITE_BATCH,
          seed: 0,
          ...(signal ? { signal } : {}),
          ...(sandbox ? { sandbox } : {}),
        });
        if (result.cancelled) return null;
        results.push(result);
      }
      return results;
    } finally {
      sandbox?.dispose();
    }
  }
}

function scoresOf(result: SuiteResult): StoredRunSuiteScores {
  return { suiteId: result.suiteId, suiteName: result.suiteName, scores: { ...result.scores } };
}
