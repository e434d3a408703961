// The Evaluate page's before/after evaluations: the loaded base model, then base + each chosen adapter, on
// every chosen suite (runSuite, the same runner as the CLI's), one at a time in this worker; progress with an
// ETA over the whole evaluation, cancel between batches; the result (with per-item outcomes, comparisons and
// the forgetting row) stored beside the adapters, listed, exported.

import type { CodeSandbox } from '../engine/eval/sandbox';
import { runSuite, type SuiteResult } from '../engine/eval/run-suite';
import { GpuLoraAdapter } from '../engine/train/gpu/gpu-lora';
import { missingTokenizerError } from '../engine/model/tokenizer';
import { getAdapter } from '../storage/adapters-store';
import { deleteEvalResult, evalResultSummary, getEvalResult, listEvalResults, putEvalResult } from '../storage/eval-results-store';
import { getEvalSuite } from '../storage/eval-suites-store';
import type { EvalResultRecord, EvalSuiteRecord, StoredEvalTarget } from '../storage/records';
import { checkAdapterFits } from './adapters-service';
import { compareTargets, type TargetResult } from './eval-compare';
import { evaluationExport, harnessTask } from './eval-export';
import { engineSuite } from './eval-suite-records';
import type { EvalApi, EvaluationEvent, EvaluationRequest } from './protocol-eval';
import { releaseCallback } from './release-callback';
import { modelName, modelRefOf } from './run-model-ref';
import type { WorkerDeps } from './worker-deps';

type RunApi = Pick<EvalApi, 'runEvaluation' | 'cancelEvaluation' | 'listEvaluations' | 'getEvaluation' | 'deleteEvaluation' | 'exportEvaluation'>;

/** Sequences per model call. */
const BATCH_SIZE = 8;
const MAX_LIMIT = 100_000;

function checkRequest(request: EvaluationRequest): void {
  if (request.suiteIds.length === 0) throw new Error('Choose at least one suite to evaluate.');
  if (!Number.isInteger(request.shots) || request.shots < 0 || request.shots > 25) throw new RangeError(`Few-shot examples must be a whole number from 0 to 25, got ${request.shots}.`);
  if (!Number.isInteger(request.seed)) throw new RangeError(`The seed must be a whole number, got ${request.seed}.`);
  if (request.limit !== undefined && (!Number.isInteger(request.limit) || request.limit < 1 || request.limit > MAX_LIMIT)) {
    throw new RangeError(`The item limit must be a whole number from 1 to ${MAX_LIMIT}, got ${request.limit}.`);
  }
}

/** Needs the code sandbox: a task suite with a custom metric, or HumanEval. */
const needsSandbox = (record: EvalSuiteRecord) => record.kind === 'humaneval' || (record.kind === 'task' && record.options.metrics.customMetric !== undefined);

/** The overall progress of (target, suite) runs weighted by their item counts, with an ETA from the pace so far. */
class OverallProgress {
  private finished = 0;
  private readonly started = performance.now();
  constructor(readonly total: number) {}

  /** `fraction` of a run of `weight` items is done now. */
  at(weight: number, fraction: number): { done: number; etaSeconds?: number } {
    const done = this.finished + weight * Math.min(1, Math.max(0, fraction));
    const elapsed = (performance.now() - this.started) / 1000;
    return done > 0 ? { done, etaSeconds: (elapsed / done) * Math.max(0, this.total - done) } : { done };
  }

  complete(weight: number): void {
    this.finished += weight;
  }
}

export function createEvalRunService(deps: WorkerDeps, sandboxFactory: () => CodeSandbox): RunApi {
  let running: AbortController | null = null;

  return {
    async runEvaluation(request, listener) {
      try {
        if (running) throw new Error('An evaluation is already running in this tab: wait for it or cancel it.');
        checkRequest(request);
        const active = deps.models.active;
        if (!active) throw new Error('No model is loaded: load the base model on the Model page first.');
        if (!active.tokenizer) throw missingTokenizerError(active.info.source);
        const { model, tokenizer } = active;
        if (model.adapter) throw new Error('The model has an adapter attached by another job (a comparison or a run’s samples): evaluate again in a moment.');
        const db = await deps.db();
        const records = await Promise.all(request.suiteIds.map((id) => getEvalSuite(db, id)));
        const judge = records.find((r) => r.kind === 'judge');
        if (judge) throw new Error(`The suite "${judge.name}" holds judge questions: run it in the Judge section.`);
        const overrides = { shots: request.shots, seed: request.seed, ...(request.limit !== undefined ? { limit: request.limit } : {}) };
        const suites = records.map((r) => engineSuite(r, overrides));
        const adapters = await Promise.all(request.adapterIds.map((id) => getAdapter(db, id)));
        const plans = adapters.map((a) => checkAdapterFits(active, a.config, a.weights, a.name));
        const targets: StoredEvalTarget[] = [{ kind: 'base' }, ...adapters.map((a) => ({ kind: 'adapter' as const, adapterId: a.id, adapterName: a.name }))];

        const claim = deps.models.claim('An evaluation is running on this model: cancel it on the Evaluate page first.');
        const controller = new AbortController();
        running = controller;
        const sandbox = records.some(needsSandbox) ? sandboxFactory() : undefined;
        const loras = plans.map((plan) => GpuLoraAdapter.create(model.ctx, plan, { inferenceOnly: true }));
        const results: TargetResult[] = [];
        const weights = suites.map((s) => s.items.length);
        const overall = new OverallProgress(weights.reduce((s, w) => s + w, 0) * targets.length);
        let failure: string | undefined;
        try {
          targetLoop: for (let t = 0; t < targets.length; t++) {
            model.setAdapter(t === 0 ? null : loras[t - 1]);
            for (let s = 0; s < suites.length; s++) {
              const suite = suites[s];
              const progress = (done: number, total: number) => {
                const at = overall.at(weights[s], total > 0 ? done / total : 0);
                const event: EvaluationEvent = { kind: 'progress', target: t, targets: targets.length, suite: s, suites: suites.length, suiteName: suite.spec.name, done: at.done, total: overall.total };
                void listener(at.etaSeconds !== undefined ? { ...event, etaSeconds: at.etaSeconds } : event);
              };
              progress(0, 1);
              let result: SuiteResult;
              try {
                result = await runSuite(suite.spec, suite.items as never[], { lm: model, tokenizer }, {
                  signal: controller.signal,
                  onProgress: (p) => progress(p.done, p.total),
                  batchSize: BATCH_SIZE,
                  seed: request.seed,
                  ...(sandbox ? { sandbox } : {}),
                });
              } catch (err) {
                // A failing model call (device lost, out of memory): what finished is kept and stored as failed.
                failure = `${suite.spec.name} on ${t === 0 ? 'the base' : `“${adapters[t - 1].name}”`}: ${(err as Error).message}`;
                break targetLoop;
              }
              overall.complete(weights[s]);
              results.push({ target: t, result });
              void listener({ kind: 'suite-done', target: t, suiteId: suite.spec.id, scores: result.scores });
              if (result.cancelled) break targetLoop;
            }
          }
        } finally {
          if (model.adapter && loras.includes(model.adapter as GpuLoraAdapter)) model.setAdapter(null);
          for (const l of loras) l.dispose();
          sandbox?.dispose();
          claim.release();
          running = null;
        }
        const cancelled = controller.signal.aborted;
        const { comparisons, forgetting } = compareTargets(results);
        const ref = modelRefOf(active);
        const record: EvalResultRecord = {
          id: crypto.randomUUID(),
          name: request.name.trim() || `${records.map((r) => r.name).join(', ')} on ${active.info.source}`,
          createdAt: new Date().toISOString(),
          model: ref,
          modelName: modelName(ref, active.info.source),
          targets,
          adapterIds: adapters.map((a) => a.id),
          suites: records.map((r) => ({ id: r.id, name: r.name, kind: r.kind, task: harnessTask(r) })),
          options: overrides,
          results,
          comparisons,
          forgetting,
          status: failure ? 'failed' : cancelled ? 'cancelled' : 'completed',
          ...(failure ? { message: failure } : cancelled ? { message: 'Cancelled: the suites that finished are kept.' } : {}),
        };
        await putEvalResult(db, record);
        return evalResultSummary(record);
      } finally {
        releaseCallback(listener);
      }
    },

    async cancelEvaluation() {
      running?.abort(new Error('The evaluation was cancelled.'));
    },

    async listEvaluations(adapterId) {
      // Judgements share the store; the Judge section lists them (listJudgements).
      return (await listEvalResults(await deps.db(), adapterId)).filter((r) => !r.judgement);
    },

    async getEvaluation(id) {
      return getEvalResult(await deps.db(), id);
    },

    async deleteEvaluation(id) {
      await deleteEvalResult(await deps.db(), id);
    },

    async exportEvaluation(id, format) {
      return evaluationExport(await getEvalResult(await deps.db(), id), format);
    },
  };
}
