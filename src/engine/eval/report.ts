// Before/after reports: the difference of each metric from the base with its standard error and a
// significance mark, and exports in lm-evaluation-harness's results layout (JSON) and as CSV.
//
// Standard error of a difference:
// - comparison(): the two runs treated as independent samples, se = sqrt(se_base^2 + se_other^2). When both
//   runs scored the same items this is conservative (it ignores the positive correlation between them);
// - pairedDifference(): per-item differences d_i = other_i - base_i, se = mean_stderr(d), the tighter
//   estimate the runner uses when per-item scores of both runs exist.
// A difference is marked significant when |difference| > 2 * se (roughly a 95% two-sided test).

import { meanWithStderr } from './metrics/mean-stderr';
import type { MetricValue, SuiteScores } from './suite-types';

export interface MetricDifference {
  /** The "metric,filter" key. */
  metric: string;
  base: MetricValue;
  other: MetricValue;
  /** other - base. */
  difference: number;
  /** Absent when either side has no stderr (a single item). */
  stderr?: number;
  significant: boolean;
}

/** |difference| > 2 stderr: the significance mark of every comparison (none without a stderr). */
export function marked(difference: number, stderr: number | undefined): boolean {
  return stderr !== undefined && Math.abs(difference) > 2 * stderr;
}

/** Per metric present in both: difference, independent-samples stderr, significance. */
export function comparison(base: SuiteScores, other: SuiteScores): MetricDifference[] {
  return Object.keys(base)
    .filter((metric) => metric in other)
    .map((metric) => {
      const b = base[metric];
      const o = other[metric];
      const difference = o.value - b.value;
      const stderr = b.stderr !== undefined && o.stderr !== undefined ? Math.sqrt(b.stderr ** 2 + o.stderr ** 2) : undefined;
      return { metric, base: b, other: o, difference, ...(stderr !== undefined ? { stderr } : {}), significant: marked(difference, stderr) };
    });
}

/** Mean of per-item differences (other - base on the same items, in the same order) with its stderr. */
export function pairedDifference(perItemBase: readonly number[], perItemOther: readonly number[]): { difference: number; stderr?: number; significant: boolean } {
  if (perItemBase.length !== perItemOther.length) throw new Error(`paired difference: ${perItemBase.length} base items but ${perItemOther.length} other items`);
  const d = meanWithStderr(perItemOther.map((v, i) => v - perItemBase[i]));
  return { difference: d.value, ...(d.stderr !== undefined ? { stderr: d.stderr } : {}), significant: marked(d.value, d.stderr) };
}

// ---- lm-evaluation-harness JSON ----

/**
 * Splits "metric,filter" (the harness's key, lm_eval/evaluator_utils.py: f"{metric},{filter_key}");
 * a bare metric name has the filter "none", the harness's name for unfiltered results.
 */
export function splitMetricKey(key: string): { metric: string; filter: string } {
  const comma = key.indexOf(',');
  return comma < 0 ? { metric: key, filter: 'none' } : { metric: key.slice(0, comma), filter: key.slice(comma + 1) };
}

export interface TaskResult {
  /** Task name, the harness's where there is one (arc_easy, hellaswag, boolq, gsm8k). */
  task: string;
  scores: SuiteScores;
  shots?: number;
  /** Items in the task and items evaluated (--limit). */
  samples?: { original: number; effective: number };
}

export interface HarnessResults {
  results: Record<string, Record<string, number | string>>;
  'n-shot': Record<string, number>;
  'n-samples': Record<string, { original: number; effective: number }>;
  config: { model: string; model_args: string };
}

/**
 * One model's results as lm-evaluation-harness writes results.json: per task an "alias" and, per metric,
 * "metric,filter" -> value and "metric_stderr,filter" -> stderr, or "N/A" where there is none
 * (lm_eval/evaluator_utils.py consolidate: agg_metrics[f"{metric}_stderr,{filter_key}"]).
 * `config.model` is "tunelab"; `model_args` says which model and adapter, e.g. "pretrained=M,adapter=A".
 */
export function harnessResults(tasks: readonly TaskResult[], modelArgs: string): HarnessResults {
  const out: HarnessResults = { results: {}, 'n-shot': {}, 'n-samples': {}, config: { model: 'tunelab', model_args: modelArgs } };
  for (const t of tasks) {
    const entry: Record<string, number | string> = { alias: t.task };
    for (const [key, value] of Object.entries(t.scores)) {
      const { metric, filter } = splitMetricKey(key);
      entry[`${metric},${filter}`] = value.value;
      entry[`${metric}_stderr,${filter}`] = value.stderr ?? 'N/A';
    }
    out.results[t.task] = entry;
    out['n-shot'][t.task] = t.shots ?? 0;
    if (t.samples) out['n-samples'][t.task] = t.samples;
  }
  return out;
}

// ---- CSV ----

export interface ModelResults {
  /** Shown in the model column, e.g. "base" or the adapter's name. */
  model: string;
  tasks: readonly TaskResult[];
  /** Per-item paired differences from the base where the runner computed them, keyed task then metric. */
  paired?: Record<string, Record<string, { difference: number; stderr?: number; significant: boolean }>>;
}

/** RFC 4180 field: quoted when it holds a comma, a quote, CR or LF, with quotes doubled. */
export function csvField(value: string | number | boolean | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const CSV_COLUMNS = ['model', 'task', 'metric', 'filter', 'value', 'stderr', 'difference', 'difference_stderr', 'significant'] as const;

/**
 * One row per model x task x metric; the first model is the base: its difference columns are empty, the
 * others' hold the difference from it (paired where given, else independent-samples). CRLF line ends.
 */
export function resultsCsv(models: readonly ModelResults[]): string {
  const rows: string[] = [CSV_COLUMNS.join(',')];
  const base = models[0];
  for (const [index, m] of models.entries()) {
    for (const t of m.tasks) {
      const baseScores = index === 0 ? undefined : base.tasks.find((b) => b.task === t.task)?.scores;
      const differences = baseScores ? comparison(baseScores, t.scores) : [];
      for (const [key, value] of Object.entries(t.scores)) {
        const { metric, filter } = splitMetricKey(key);
        const diff = m.paired?.[t.task]?.[key] ?? differences.find((d) => d.metric === key);
        rows.push(
          [m.model, t.task, metric, filter, value.value, value.stderr, diff?.difference, diff?.stderr, diff ? diff.significant : undefined].map(csvField).join(','),
        );
      }
    }
  }
  return rows.join('\r\n') + '\r\n';
}
