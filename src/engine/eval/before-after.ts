// Before and after in one call: every suite on the base and on each adapter, the comparison of each
// adapter with the base (compare-results.ts), and a forgetting summary.
//
//   runBeforeAfter(suites, targets, ctx): Promise<BeforeAfterResult>
//     suites:  LoadedSuite[] (spec + items); every target scores the same items.
//     targets: [{ label, select(): Promise<EvalModel> }, ...], the base first. select() makes the target the
//              running model (the GPU engine: setAdapter(adapter or null); the CPU reference: a model with
//              the adapter merged) and returns it; it is called once per target, before its suites.
//     ctx:     RunContext, with onProgress receiving BeforeAfterProgress (which target and suite, and the
//              suite's done / total / ETA) and onSuiteDone after each suite.
//   BeforeAfterResult = { targets: [{ label, suites: SuiteResult[] }], comparisons: MetricComparison[] (per
//     adapter, suite and metric), forgetting: ForgettingEntry[] (per adapter, the general suites' headline
//     metric), cancelled }.
//
// Forgetting: the suites that measure general ability rather than the target task (retention, multiple
// choice, GSM8K, HumanEval) are summarised by their headline metric; an entry is `worse` when the change
// goes the bad way (perplexity up, accuracy down) by more than twice its standard error.

import { compareSuiteResults, higherIsBetter, type MetricComparison } from './compare-results';
import type { EvalProgress } from './eval-progress';
import { runSuite, type LoadedSuite } from './run-suite';
import type { EvalModel, RunContext, SuiteResult } from './run-types';
import type { EvalSuiteKind } from './suite-types';

export interface EvalTarget {
  /** "base", or the adapter's name. */
  label: string;
  select(): Promise<EvalModel>;
}

export interface BeforeAfterProgress extends EvalProgress {
  target: number;
  targetLabel: string;
  /** Index of the suite in `suites`. */
  suite: number;
  suiteId: string;
  /** Suites finished over all targets, and suites to run in all. */
  suitesDone: number;
  suitesTotal: number;
}

export interface BeforeAfterContext extends Omit<RunContext, 'onProgress'> {
  onProgress?: (p: BeforeAfterProgress) => void;
  onSuiteDone?: (target: number, result: SuiteResult) => void;
}

export interface TargetResults {
  label: string;
  suites: SuiteResult[];
}

export interface ForgettingEntry extends MetricComparison {
  /** The change goes the bad way by more than twice its standard error. */
  worse: boolean;
}

export interface BeforeAfterResult {
  targets: TargetResults[];
  comparisons: MetricComparison[];
  forgetting: ForgettingEntry[];
  cancelled: boolean;
}

/** The kinds that measure general ability (not the adapter's own task). */
const GENERAL_KINDS: ReadonlySet<EvalSuiteKind> = new Set(['retention', 'multiple-choice', 'gsm8k', 'humaneval']);

/** The metric a suite is summarised by in the forgetting row. */
export function headlineMetric(kind: EvalSuiteKind, metrics: readonly string[]): string | undefined {
  const preferred: Partial<Record<EvalSuiteKind, string[]>> = {
    retention: ['perplexity,none'],
    'multiple-choice': ['acc_norm,none', 'acc,none'],
    gsm8k: ['exact_match,strict-match', 'exact_match,flexible-extract'],
    humaneval: ['pass@1,none'],
  };
  return (preferred[kind] ?? []).find((m) => metrics.includes(m)) ?? (kind === 'humaneval' ? metrics.find((m) => m.startsWith('pass@')) : undefined);
}

/** The forgetting entries of one adapter's comparisons. */
export function forgettingOf(results: readonly SuiteResult[], comparisons: readonly MetricComparison[]): ForgettingEntry[] {
  const entries: ForgettingEntry[] = [];
  for (const result of results) {
    if (!GENERAL_KINDS.has(result.kind)) continue;
    const mine = comparisons.filter((c) => c.suiteId === result.suiteId);
    const metric = headlineMetric(result.kind, mine.map((c) => c.metric));
    const c = mine.find((m) => m.metric === metric);
    if (!c) continue;
    const bad = higherIsBetter(c.metric) ? c.difference < 0 : c.difference > 0;
    entries.push({ ...c, worse: bad && c.significant });
  }
  return entries;
}

export async function runBeforeAfter(suites: readonly LoadedSuite[], targets: readonly EvalTarget[], ctx: BeforeAfterContext): Promise<BeforeAfterResult> {
  if (targets.length === 0) throw new Error('before/after: no targets (the base comes first)');
  if (suites.length === 0) throw new Error('before/after: no suites');
  const ids = new Set<string>();
  for (const s of suites) {
    if (ids.has(s.spec.id)) throw new Error(`before/after: suite ${s.spec.id} is listed twice`);
    ids.add(s.spec.id);
  }
  const out: TargetResults[] = [];
  const suitesTotal = suites.length * targets.length;
  let suitesDone = 0;
  let cancelled = false;
  for (const [t, target] of targets.entries()) {
    if (cancelled || ctx.signal?.aborted) {
      cancelled = true;
      break;
    }
    const model = await target.select();
    const row: TargetResults = { label: target.label, suites: [] };
    out.push(row);
    for (const [s, suite] of suites.entries()) {
      if (ctx.signal?.aborted) {
        cancelled = true;
        break;
      }
      const result = await runSuite(suite.spec, suite.items, model, {
        ...ctx,
        onProgress: ctx.onProgress && ((p) => ctx.onProgress!({ ...p, target: t, targetLabel: target.label, suite: s, suiteId: suite.spec.id, suitesDone, suitesTotal })),
      });
      row.suites.push(result);
      suitesDone++;
      ctx.onSuiteDone?.(t, result);
      if (result.cancelled) {
        cancelled = true;
        break;
      }
    }
  }

  const comparisons: MetricComparison[] = [];
  const forgetting: ForgettingEntry[] = [];
  const base = out[0];
  for (let t = 1; t < out.length; t++) {
    const mine: MetricComparison[] = [];
    for (const result of out[t].suites) {
      const before = base.suites.find((b) => b.suiteId === result.suiteId);
      if (!before || before.cancelled || result.cancelled) continue;
      mine.push(...compareSuiteResults(before, result, t));
    }
    comparisons.push(...mine);
    forgetting.push(...forgettingOf(out[t].suites, mine));
  }
  return { targets: out, comparisons, forgetting, cancelled };
}
