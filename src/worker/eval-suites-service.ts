// The Evaluate page's suite library: files read into drafts (kept here, not saved), drafts saved to IndexedDB
// with their settings, saved suites listed and deleted.

import { DatasetFileError } from '../engine/data/read-records';
import { HUMANEVAL_JS_EVALUATION_ONLY } from '../engine/eval/suites/humaneval';
import { deleteEvalSuite, evalSuiteSummary, listEvalSuites, putEvalSuite } from '../storage/eval-suites-store';
import { checkSuiteSize, readSuiteFiles, SuiteFileError, type ReadSuite, type SuiteFile } from './eval-suite-read';
import { suiteRecord } from './eval-suite-records';
import { KeptDrafts } from './kept-drafts';
import type { EvalApi, SuiteDraft, TaskSuiteSettings } from './protocol-eval';
import type { WorkerDeps } from './worker-deps';

const MAX_NAME_LENGTH = 120;

type SuitesApi = Pick<EvalApi, 'readSuite' | 'saveSuite' | 'listSuites' | 'deleteSuite'>;

function suiteName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw new Error('Give the suite a name.');
  if (trimmed.length > MAX_NAME_LENGTH) throw new Error(`A suite name can have at most ${MAX_NAME_LENGTH} characters.`);
  return trimmed;
}

/** "ARC-Easy-test.jsonl + ARC-Easy-train.jsonl" -> "ARC-Easy-test". */
const proposedName = (source: string) => source.split(' + ')[0].replace(/(\.txt)?(\.[a-z0-9]+)$/i, '');

function checkTaskSettings(task: TaskSuiteSettings | undefined): void {
  if (!task) throw new Error('A task suite needs its generation and metric settings.');
  if (!Number.isInteger(task.maxNewTokens) || task.maxNewTokens < 1 || task.maxNewTokens > 4096) {
    throw new RangeError(`New tokens per answer must be a whole number from 1 to 4096, got ${task.maxNewTokens}.`);
  }
  const { regex, customMetric } = task.metrics;
  if (regex) {
    try {
      new RegExp(regex.pattern, regex.flags);
    } catch (err) {
      throw new Error(`The regex metric's pattern is not a JavaScript regular expression: ${(err as Error).message}`);
    }
  }
  if (customMetric) {
    if (!customMetric.source.trim()) throw new Error('The custom metric has no code: write a function (output, item) => number.');
    if (!(customMetric.timeoutMs >= 10 && customMetric.timeoutMs <= 60_000)) throw new RangeError(`The custom metric's time limit must be 10 to 60000 ms, got ${customMetric.timeoutMs}.`);
  }
  const any = task.metrics.exactMatch || task.metrics.contains || task.metrics.rougeL || regex || customMetric || task.perplexity;
  if (!any) throw new Error('Choose at least one metric for the task suite.');
}

export function createEvalSuitesService(deps: WorkerDeps): SuitesApi {
  const drafts = new KeptDrafts<ReadSuite>();

  return {
    async readSuite(files, as) {
      let suite: ReadSuite;
      try {
        // A file over the limit is refused from its size, before any bytes are read.
        for (const f of files) checkSuiteSize(f.name, f.size);
        const read: SuiteFile[] = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
        suite = readSuiteFiles(read, as);
      } catch (err) {
        if (err instanceof SuiteFileError || err instanceof DatasetFileError) throw new Error(err.message);
        throw err;
      }
      const draftId = drafts.add(suite);
      const draft: SuiteDraft = {
        draftId,
        source: suite.source,
        kind: suite.kind,
        name: proposedName(suite.source),
        items: suite.items.length,
        errors: suite.errors,
        errorCount: suite.errorCount,
        ...(suite.builtin ? { builtin: suite.builtin } : {}),
        ...(suite.kind === 'humaneval' ? { evaluationOnly: HUMANEVAL_JS_EVALUATION_ONLY } : {}),
        ...('fewShotPool' in suite && suite.fewShotPool ? { fewShotPool: suite.fewShotPool.length } : {}),
      };
      return draft;
    },

    async saveSuite(draftId, name, task) {
      const suite = drafts.get(draftId);
      if (suite.kind === 'task') checkTaskSettings(task);
      const record = suiteRecord(suite, { id: crypto.randomUUID(), name: suiteName(name), createdAt: Date.now() }, suite.kind === 'task' ? task : undefined);
      await putEvalSuite(await deps.db(), record);
      drafts.delete(draftId);
      return evalSuiteSummary(record);
    },

    async listSuites() {
      return listEvalSuites(await deps.db());
    },

    async deleteSuite(id) {
      await deleteEvalSuite(await deps.db(), id);
    },
  };
}
