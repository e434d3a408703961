// One suite's result on a model against the same suite on the base: per metric the difference, its
// standard error and whether it exceeds twice that error. The error is the tightest one the outcomes allow:
// - mean metrics (acc, exact_match, pass@k, ...) scored on the same items by both: paired over the items,
//   se = mean_stderr(other_i - base_i) (report.ts pairedDifference);
// - set-level ratios (perplexity, loss, bits per byte) with each item's NLL and token count in both:
//   paired over the documents with the ratio estimators of retention-stats.ts;
// - otherwise the two runs as independent samples, se = sqrt(se_base^2 + se_other^2) (report.ts comparison).

import { comparison, marked, pairedDifference } from './report';
import { perplexityChange, ratioChange, type DocumentNll } from './retention-stats';
import { documentNll } from './run-retention';
import type { ItemOutcome, SuiteResult } from './run-types';
import type { MetricValue } from './suite-types';

export type ComparisonMethod = 'paired-items' | 'paired-documents' | 'independent';

export interface MetricComparison {
  suiteId: string;
  /** "metric,filter". */
  metric: string;
  /** Index of the compared target (never the base, 0). */
  target: number;
  base: MetricValue;
  adapted: MetricValue;
  /** adapted - base. */
  difference: number;
  stderr?: number;
  /** |difference| > 2 stderr. */
  significant: boolean;
  method: ComparisonMethod;
  /** Perplexity only: adapted / base - 1, with its standard error. */
  relative?: MetricValue;
}

/** Metrics where lower is better; every other metric is better higher. */
const LOWER_IS_BETTER = new Set(['perplexity', 'loss', 'bits_per_byte']);

export function higherIsBetter(metric: string): boolean {
  return !LOWER_IS_BETTER.has(metric.split(',')[0]);
}

/** The items' ids in order, when both runs scored exactly the same items. */
function sameItems(a: readonly ItemOutcome[], b: readonly ItemOutcome[]): boolean {
  return a.length === b.length && a.every((o, i) => o.id === b[i].id);
}

/** Per-document NLLs of both runs, when every item has them with the same token counts. */
function pairedDocuments(base: SuiteResult, other: SuiteResult): { a: DocumentNll[]; b: DocumentNll[] } | undefined {
  if (!sameItems(base.items, other.items)) return undefined;
  const a = base.items.map(documentNll);
  const b = other.items.map(documentNll);
  if (a.some((d) => !d) || b.some((d) => !d)) return undefined;
  if (a.some((d, i) => d!.tokens !== b[i]!.tokens)) return undefined;
  return { a: a as DocumentNll[], b: b as DocumentNll[] };
}

function pairedRatio(metric: string, docs: { a: DocumentNll[]; b: DocumentNll[] }): { change: MetricValue; relative?: MetricValue } | undefined {
  const name = metric.split(',')[0];
  if (name === 'perplexity') {
    const change = perplexityChange(docs.a, docs.b);
    return { change: change.perplexity, relative: change.relative };
  }
  if (name === 'loss') return { change: perplexityChange(docs.a, docs.b).logPerplexity };
  if (name === 'bits_per_byte') {
    if (docs.a.some((d) => d.bytes === undefined)) return undefined;
    return { change: ratioChange(docs.a.map((d) => d.nll / Math.LN2), docs.b.map((d) => d.nll / Math.LN2), docs.a.map((d) => d.bytes!)) };
  }
  return undefined;
}

/** Every metric both results report, compared as the file header says. */
export function compareSuiteResults(base: SuiteResult, other: SuiteResult, target: number): MetricComparison[] {
  if (base.suiteId !== other.suiteId) throw new Error(`comparing suite ${other.suiteId} with the base's ${base.suiteId}`);
  const docs = pairedDocuments(base, other);
  const itemsMatch = sameItems(base.items, other.items);
  return comparison(base.scores, other.scores).map((d): MetricComparison => {
    const common = { suiteId: base.suiteId, metric: d.metric, target, base: d.base, adapted: d.other };
    const ratio = docs && pairedRatio(d.metric, docs);
    if (ratio) {
      return { ...common, difference: ratio.change.value, ...stderrOf(ratio.change.stderr), significant: marked(ratio.change.value, ratio.change.stderr), method: 'paired-documents', ...(ratio.relative ? { relative: ratio.relative } : {}) };
    }
    const scoredByBoth = itemsMatch && base.items.every((o, i) => d.metric in o.scores && d.metric in other.items[i].scores);
    if (scoredByBoth && base.items.length > 0) {
      const p = pairedDifference(base.items.map((o) => o.scores[d.metric]), other.items.map((o) => o.scores[d.metric]));
      return { ...common, difference: p.difference, ...stderrOf(p.stderr), significant: p.significant, method: 'paired-items' };
    }
    return { ...common, difference: d.difference, ...stderrOf(d.stderr), significant: d.significant, method: 'independent' };
  });
}

const stderrOf = (stderr: number | undefined) => (stderr === undefined ? {} : { stderr });
