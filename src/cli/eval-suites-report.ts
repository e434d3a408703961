// What `tunelab eval --suite` prints: the JSON result (lm-evaluation-harness's results layout per model,
// plus the comparisons) and the comparison table on stderr.

import type { BeforeAfterResult } from '../engine/eval/before-after';
import { BUILTIN_NOTES, HARNESS_TASK_NAMES, isBuiltinSuiteId } from '../engine/eval/builtin-suites';
import { harnessResults, type HarnessResults, type TaskResult } from '../engine/eval/report';
import type { LoadedSuite } from '../engine/eval/run-suite';
import type { SuiteResult } from '../engine/eval/run-types';

/** The task name a suite's results go under: the harness's for the built-in suites it mirrors, else the suite id. */
export function taskName(suiteId: string): string {
  return isBuiltinSuiteId(suiteId) ? HARNESS_TASK_NAMES[suiteId] : suiteId;
}

function shotsOf(suite: LoadedSuite): number | undefined {
  return suite.spec.kind === 'multiple-choice' || suite.spec.kind === 'gsm8k' ? suite.spec.options.fewShot.shots : undefined;
}

function taskResults(results: readonly SuiteResult[], suites: readonly LoadedSuite[]): TaskResult[] {
  return results.map((r) => {
    const suite = suites.find((s) => s.spec.id === r.suiteId)!;
    const shots = shotsOf(suite);
    return { task: taskName(r.suiteId), scores: r.scores, ...(shots !== undefined ? { shots } : {}), samples: { original: suite.items.length, effective: r.items.length } };
  });
}

export interface TargetInfo {
  label: string;
  /** The adapter folder; absent for the base. */
  adapter?: string;
}

export type SuitesJson = Partial<HarnessResults> & {
  /** Each adapter's results in the same layout, with its folder. */
  adapters: (HarnessResults & { adapter: string })[];
  comparisons: unknown[];
  forgetting: unknown[];
  cancelled: boolean;
};

/** The base's harness results at the top level (absent with --no-base), each adapter's under "adapters". */
export function suitesJson(model: string, targets: readonly TargetInfo[], result: BeforeAfterResult, suites: readonly LoadedSuite[]): SuitesJson {
  const modelArgs = (t: TargetInfo) => `pretrained=${model}${t.adapter ? `,peft=${t.adapter}` : ''}`;
  const perTarget = result.targets.map((r, i) => harnessResults(taskResults(r.suites, suites), modelArgs(targets[i])));
  const baseIndex = targets.findIndex((t) => !t.adapter);
  const out: SuitesJson = {
    ...(baseIndex >= 0 && perTarget[baseIndex] ? perTarget[baseIndex] : {}),
    adapters: perTarget.flatMap((h, i) => (targets[i].adapter ? [{ ...h, adapter: targets[i].adapter! }] : [])),
    comparisons: result.comparisons.map((c) => ({ ...c, task: taskName(c.suiteId), adapter: targets[c.target].adapter })),
    forgetting: result.forgetting.map((f) => ({ ...f, task: taskName(f.suiteId), adapter: targets[f.target].adapter })),
    cancelled: result.cancelled,
  };
  return out;
}

/** One JSONL line per item outcome, for --log-samples. */
export function sampleLines(targets: readonly TargetInfo[], result: BeforeAfterResult): string {
  const lines: string[] = [];
  result.targets.forEach((t, i) => {
    for (const s of t.suites) {
      for (const item of s.items) lines.push(JSON.stringify({ target: targets[i].label, task: taskName(s.suiteId), ...item }));
    }
  });
  return lines.map((l) => `${l}\n`).join('');
}

const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(2) : x.toFixed(4));
const withSe = (v: { value: number; stderr?: number }) => `${num(v.value)}${v.stderr !== undefined ? ` ± ${num(v.stderr)}` : ''}`;

/** The table on stderr: per suite and metric the base, then each adapter with its difference (* past 2 stderr). */
export function comparisonTable(targets: readonly TargetInfo[], result: BeforeAfterResult): string {
  const header = ['task', 'metric', ...result.targets.map((t) => t.label)];
  const rows: string[][] = [];
  const first = result.targets[0];
  for (const suite of first?.suites ?? []) {
    for (const metric of Object.keys(suite.scores)) {
      const cells = result.targets.map((t, i) => {
        const v = t.suites.find((s) => s.suiteId === suite.suiteId)?.scores[metric];
        if (!v) return '';
        const c = result.comparisons.find((x) => x.target === i && x.suiteId === suite.suiteId && x.metric === metric);
        if (!c) return withSe(v);
        const sign = c.difference >= 0 ? '+' : '';
        return `${withSe(v)} (${sign}${num(c.difference)}${c.stderr !== undefined ? ` ± ${num(c.stderr)}` : ''}${c.significant ? ' *' : ''})`;
      });
      rows.push([taskName(suite.suiteId), metric, ...cells]);
    }
  }
  for (const f of result.forgetting) {
    rows.push([`forgetting: ${taskName(f.suiteId)}`, f.metric, ...result.targets.map((_, i) => (i === f.target ? `${f.worse ? 'worse' : 'no significant loss'}${f.relative ? ` (${(100 * f.relative.value).toFixed(1)}%)` : ''}` : ''))]);
  }
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
  const note = targets.length > 1 ? '\n(difference from the base ± its standard error, paired over items; * when over twice it)' : '';
  // Where a built-in suite departs from the harness task it mirrors, said under its scores.
  const departures = (first?.suites ?? []).flatMap((s) => (isBuiltinSuiteId(s.suiteId) && BUILTIN_NOTES[s.suiteId] ? [`\n${taskName(s.suiteId)}: ${BUILTIN_NOTES[s.suiteId]}`] : []));
  return [line(header), ...rows.map(line)].join('\n') + note + departures.join('');
}
