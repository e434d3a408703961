// An evaluation as files: lm-evaluation-harness's results JSON per evaluated model (report.ts harnessResults:
// {task: {"metric,filter", "metric_stderr,filter"}}), keyed by "base" and each adapter's name, and one CSV of
// every model x task x metric with the difference from the base (paired where the comparison was).

import { HARNESS_TASK_NAMES } from '../engine/eval/builtin-suites';
import { harnessResults, resultsCsv, type ModelResults, type TaskResult } from '../engine/eval/report';
import type { EvalResultRecord, EvalSuiteRecord } from '../storage/records';

/** The task key of a suite's results: the harness's task name for a built-in, else the suite's own name. */
export function harnessTask(record: Pick<EvalSuiteRecord, 'origin' | 'name'>): string {
  return record.origin.type === 'builtin' ? ((HARNESS_TASK_NAMES as Record<string, string>)[record.origin.builtin] ?? record.name) : record.name;
}

function targetName(record: EvalResultRecord, target: number): string {
  const t = record.targets[target];
  return t.kind === 'base' ? 'base' : t.adapterName;
}

function modelResults(record: EvalResultRecord): ModelResults[] {
  return record.targets.map((_, target) => {
    const tasks: TaskResult[] = record.results
      .filter((r) => r.target === target)
      .map((r) => {
        const suite = record.suites.find((s) => s.id === r.result.suiteId);
        const shots = suite && (suite.kind === 'multiple-choice' || suite.kind === 'gsm8k') ? record.options.shots : 0;
        return { task: suite?.task ?? r.result.suiteName, scores: r.result.scores, shots, samples: { original: r.result.total, effective: r.result.items.length } };
      });
    const paired: NonNullable<ModelResults['paired']> = {};
    for (const c of record.comparisons.filter((c) => c.target === target)) {
      const task = record.suites.find((s) => s.id === c.suiteId)?.task ?? c.suiteId;
      (paired[task] ??= {})[c.metric] = { difference: c.difference, ...(c.stderr !== undefined ? { stderr: c.stderr } : {}), significant: c.significant };
    }
    return { model: targetName(record, target), tasks, paired };
  });
}

/** The evaluation exported as JSON (lm-evaluation-harness's layout per model) or CSV. */
export function evaluationExport(record: EvalResultRecord, format: 'json' | 'csv'): string {
  const models = modelResults(record);
  if (format === 'csv') return resultsCsv(models);
  const byModel: Record<string, unknown> = {};
  for (const [i, m] of models.entries()) {
    const t = record.targets[i];
    const args = `pretrained=${record.modelName}${t.kind === 'adapter' ? `,adapter=${t.adapterName}` : ''}`;
    byModel[m.model] = harnessResults(m.tasks, args);
  }
  return `${JSON.stringify(byModel, null, 2)}\n`;
}
