// Before against after: every metric of every suite an adapter and the base both ran, as the difference from
// the base with its standard error and a mark when |difference| > 2 stderr (report.ts). Where both ran the
// same items to the end, the difference is paired per item (the tighter estimate, report.ts pairedDifference);
// otherwise the two runs count as independent samples (report.ts comparison). The forgetting row is each
// retention suite's perplexity change, paired per document (retention-stats.ts perplexityChange).

import { comparison, pairedDifference } from '../engine/eval/report';
import { perplexityChange, type DocumentNll } from '../engine/eval/retention-stats';
import { documentNll } from '../engine/eval/run-retention';
import type { SuiteResult } from '../engine/eval/run-suite';
import type { StoredComparison } from '../storage/records';

export interface TargetResult {
  /** Index of the target (0: the base). */
  target: number;
  result: SuiteResult;
}

/** Per-item values of `metric` in item order, or undefined when an item lacks it. */
function perItem(result: SuiteResult, metric: string): number[] | undefined {
  const values = result.items.map((i) => i.scores[metric]);
  return values.every((v) => typeof v === 'number' && Number.isFinite(v)) ? values : undefined;
}

function sameItems(a: SuiteResult, b: SuiteResult): boolean {
  return !a.cancelled && !b.cancelled && a.items.length === b.items.length && a.items.every((item, i) => item.id === b.items[i].id);
}

/** The comparisons of one adapter's suite result against the base's. */
export function compareSuite(base: SuiteResult, other: SuiteResult, target: number): StoredComparison[] {
  const paired = sameItems(base, other);
  return comparison(base.scores, other.scores).map((d) => {
    const baseItems = paired ? perItem(base, d.metric) : undefined;
    const otherItems = paired ? perItem(other, d.metric) : undefined;
    // A paired difference only where the metric is a mean of per-item scores (its value equals their mean).
    const meanOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const isMean = baseItems && otherItems && baseItems.length >= 2 && Math.abs(meanOf(baseItems) - d.base.value) < 1e-9 && Math.abs(meanOf(otherItems) - d.other.value) < 1e-9;
    const diff = isMean ? pairedDifference(baseItems, otherItems) : d;
    return {
      suiteId: base.suiteId,
      metric: d.metric,
      target,
      base: d.base,
      adapted: d.other,
      difference: diff.difference,
      ...(diff.stderr !== undefined ? { stderr: diff.stderr } : {}),
      significant: diff.significant,
    };
  });
}

function documents(result: SuiteResult): DocumentNll[] | undefined {
  const docs = result.items.map(documentNll);
  return docs.every((d): d is DocumentNll => d !== undefined) && docs.length > 0 ? docs : undefined;
}

/** A retention suite's forgetting entry: perplexity change (model - base), paired per document, and relative change. */
export function forgettingOf(base: SuiteResult, other: SuiteResult, target: number): StoredComparison[] {
  const a = sameItems(base, other) ? documents(base) : undefined;
  const b = a ? documents(other) : undefined;
  const key = Object.keys(base.scores).find((k) => k.startsWith('perplexity')) ?? 'perplexity';
  if (!a || !b) return compareSuite(base, other, target).filter((c) => c.metric === key);
  const change = perplexityChange(a, b);
  const entry = (metric: string, value: { value: number; stderr?: number }, baseValue: { value: number; stderr?: number }, adapted: { value: number; stderr?: number }): StoredComparison => ({
    suiteId: base.suiteId,
    metric,
    target,
    base: baseValue,
    adapted,
    difference: value.value,
    ...(value.stderr !== undefined ? { stderr: value.stderr } : {}),
    significant: value.stderr !== undefined && Math.abs(value.value) > 2 * value.stderr,
  });
  const basePpl = base.scores[key] ?? { value: Math.exp(a.reduce((s, d) => s + d.nll, 0) / a.reduce((s, d) => s + d.tokens, 0)) };
  const otherPpl = other.scores[key] ?? { value: basePpl.value + change.perplexity.value };
  return [entry(key, change.perplexity, basePpl, otherPpl), entry('perplexity_relative_change', change.relative, { value: 0 }, { value: change.relative.value })];
}

/** Every adapter's comparisons with the base, and the forgetting row from the retention suites. */
export function compareTargets(results: readonly TargetResult[]): { comparisons: StoredComparison[]; forgetting: StoredComparison[] } {
  const comparisons: StoredComparison[] = [];
  const forgetting: StoredComparison[] = [];
  for (const r of results) {
    if (r.target === 0) continue;
    const base = results.find((b) => b.target === 0 && b.result.suiteId === r.result.suiteId);
    if (!base || base.result.items.length === 0 || r.result.items.length === 0) continue;
    comparisons.push(...compareSuite(base.result, r.result, r.target));
    if (r.result.kind === 'retention') forgetting.push(...forgettingOf(base.result, r.result, r.target));
  }
  return { comparisons, forgetting };
}
