// The results table's rows: per suite and metric, each target's value with its stderr and, for an adapter,
// its comparison with the base (difference, stderr, the 2-stderr mark).

import type { EvaluationRecord } from '../../worker/protocol-eval';
import type { StoredComparison, StoredMetricValue } from '../../storage/records';

export interface ResultRow {
  suiteId: string;
  suiteName: string;
  metric: string;
  /** One per target (undefined where that target did not finish the suite). */
  values: (StoredMetricValue | undefined)[];
  /** One per target; undefined for the base and where there is no comparison. */
  comparisons: (StoredComparison | undefined)[];
}

export function resultRows(record: EvaluationRecord): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const suite of record.suites) {
    const metrics = new Set<string>();
    for (const r of record.results) if (r.result.suiteId === suite.id) for (const m of Object.keys(r.result.scores)) metrics.add(m);
    for (const metric of metrics) {
      rows.push({
        suiteId: suite.id,
        suiteName: suite.name,
        metric,
        values: record.targets.map((_, t) => record.results.find((r) => r.target === t && r.result.suiteId === suite.id)?.result.scores[metric]),
        comparisons: record.targets.map((_, t) => record.comparisons.find((c) => c.target === t && c.suiteId === suite.id && c.metric === metric)),
      });
    }
  }
  return rows;
}

export function targetLabel(record: EvaluationRecord, t: number): string {
  const target = record.targets[t];
  return target.kind === 'base' ? 'base' : target.adapterName;
}

/** A number with 4 significant digits, or "—". */
export function num(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return String(Number(v.toPrecision(4)));
}

export function signed(v: number): string {
  return `${v > 0 ? '+' : v < 0 ? '−' : ''}${num(Math.abs(v))}`;
}
