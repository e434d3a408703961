// The Evaluate page's Judge section (JudgeApi): MT-Bench style LLM-as-a-judge, in the flow of `tunelab judge`
// (src/cli/commands/judge.ts). The loaded model answers the judge suite's questions (the first turn, greedy,
// as FastChat's gen_model_answer.py collects answers) as the base and with each chosen saved adapter; then
// the judge judges: single-answer grading of every target's answers, or pairwise each adapter against the
// base with both orders (FastChat's play_a_match_pair). One prompt, as the user edited it, judges every
// question. The result is stored in the evalResults store with its `judgement`.

import { answerQuestions } from '../engine/eval/judge/answers';
import type { EndpointJudge } from '../engine/eval/judge/endpoint-judge';
import { checkPromptChoice } from '../engine/eval/judge/prompt-choice';
import { judgePairwise, judgeSingle } from '../engine/eval/judge/run-judge';
import { templateShape } from '../engine/eval/judge/template';
import { parseJudgePrompts, type JudgePrompt, type QuestionId } from '../engine/eval/judge/records';
import { missingTokenizerError } from '../engine/model/tokenizer';
import { GpuLoraAdapter } from '../engine/train/gpu/gpu-lora';
import { getAdapter } from '../storage/adapters-store';
import { getEvalResult, listEvalResults, putEvalResult } from '../storage/eval-results-store';
import { getEvalSuite } from '../storage/eval-suites-store';
import type { EvalResultRecord, StoredEvalTarget, StoredJudgement } from '../storage/records';
import { checkAdapterFits } from './adapters-service';
import { endpointJudge, startJudge } from './eval-judge-source';
import { judgeQuestions, judgementSummary, storedGrading, storedPairs, storedPrompt, storedRequest } from './eval-judge-record';
import type { JudgeApi, JudgementEvent, JudgementRequest } from './protocol-judge';
import { releaseCallback } from './release-callback';
import { modelName, modelRefOf } from './run-model-ref';
import type { WorkerDeps } from './worker-deps';

/** Answers generated together. */
const ANSWER_BATCH = 8;
/** Questions judged at once (a pair's two orders each: 8 judgments per engine batch). */
const JUDGE_PARALLEL = 4;
const MAX_TOKENS = 4096;

function checkRequest(r: JudgementRequest): void {
  const whole = (v: number, min: number, max: number) => Number.isInteger(v) && v >= min && v <= max;
  if (r.limit !== undefined && !whole(r.limit, 1, 100_000)) throw new RangeError(`The question limit must be a whole number from 1, got ${r.limit}.`);
  if (!whole(r.maxNewTokens, 1, MAX_TOKENS)) throw new RangeError(`Answer tokens must be a whole number from 1 to ${MAX_TOKENS}, got ${r.maxNewTokens}.`);
  if (!whole(r.judgeMaxNewTokens, 1, MAX_TOKENS)) throw new RangeError(`Judgment tokens must be a whole number from 1 to ${MAX_TOKENS}, got ${r.judgeMaxNewTokens}.`);
  if (r.mode === 'pairwise' && r.adapterIds.length === 0) throw new Error('Pairwise judging compares an adapter with the base: choose at least one adapter.');
  if (r.prompt.type !== r.mode) throw new Error(`The judge prompt "${r.prompt.name}" is a ${r.prompt.type} prompt and this judgement is ${r.mode}: choose a ${r.mode} prompt.`);
  // The edited prompt must still be one FastChat's format can fill and read (fields, output format).
  const { multiTurn } = checkPromptChoice({ general: r.prompt }, r.mode);
  if (multiTurn) throw new Error(`The judge prompt "${r.prompt.name}" judges the second turn; this section judges first answers only: choose a first-turn prompt.`);
  if (r.judge.type === 'endpoint' && (r.judge.url.trim() === '' || r.judge.model.trim() === '')) throw new Error('The judge endpoint needs its URL and model name.');
}

export function createJudgeService(deps: WorkerDeps): JudgeApi {
  let running: AbortController | null = null;

  return {
    async readJudgePrompts(file) {
      const parsed = parseJudgePrompts(await file.text(), file.name);
      return { file: file.name, prompts: parsed.items.map(storedPrompt), errors: parsed.errors.map((e) => e.message) };
    },

    async runJudgement(request, listener) {
      const emit = (event: JudgementEvent) => void listener(event);
      try {
        if (running) throw new Error('A judgement is already running in this tab: wait for it or cancel it.');
        checkRequest(request);
        const active = deps.models.active;
        if (!active) throw new Error('No model is loaded: load the model to evaluate on the Model page first.');
        if (!active.tokenizer) throw missingTokenizerError(active.info.source);
        const { model, tokenizer } = active;
        if (model.adapter) throw new Error('The model has an adapter attached by another job (a comparison or a run’s samples): judge again in a moment.');
        const db = await deps.db();
        const suite = await getEvalSuite(db, request.suiteId);
        if (suite.kind !== 'judge') throw new Error(`The suite "${suite.name}" is not a set of judge questions (MT-Bench's question file).`);
        const { questions, references } = judgeQuestions(suite.items, request.limit);
        const prompt: JudgePrompt = { ...request.prompt };
        if (templateShape(prompt.type, prompt.promptTemplate).needsReference) {
          const missing = questions.find((q) => !references.has(q.questionId));
          if (missing) throw new Error(`The judge prompt "${prompt.name}" shows a reference answer ({ref_answer_1}) and question ${missing.questionId} of "${suite.name}" has none: choose a general prompt.`);
        }
        const endpoint: EndpointJudge | undefined = request.judge.type === 'endpoint' ? endpointJudge(request.judge) : undefined;
        const adapters = await Promise.all(request.adapterIds.map((id) => getAdapter(db, id)));
        const plans = adapters.map((a) => checkAdapterFits(active, a.config, a.weights, a.name));
        const targets: StoredEvalTarget[] = [{ kind: 'base' }, ...adapters.map((a) => ({ kind: 'adapter' as const, adapterId: a.id, adapterName: a.name }))];
        const targetName = (t: number) => (t === 0 ? 'the base' : `“${adapters[t - 1].name}”`);

        const claim = deps.models.claim('A judgement is running on this model: cancel it on the Evaluate page first.');
        const controller = new AbortController();
        const signal = controller.signal;
        running = controller;
        const loras = plans.map((plan) => GpuLoraAdapter.create(model.ctx, plan, { inferenceOnly: true }));
        const answers: string[][] = [];
        const judgement: Pick<StoredJudgement, 'single' | 'pairwise'> = {};
        let judgeName = '';
        let judgeKind: StoredJudgement['judge']['kind'] = request.judge.type;
        let requests: StoredJudgement['requests'];
        try {
          // The answers: each target's greedy first-turn answers, with its adapter attached.
          const total = questions.length * targets.length;
          for (let t = 0; t < targets.length; t++) {
            model.setAdapter(t === 0 ? null : loras[t - 1]);
            const label = `answers of ${targetName(t)}`;
            emit({ kind: 'progress', phase: 'answers', label, done: t * questions.length, total });
            const got = await answerQuestions(model, tokenizer, active.sources, questions, {
              turns: 1,
              maxNewTokens: request.maxNewTokens,
              batchSize: ANSWER_BATCH,
              signal,
              onProgress: (done) => emit({ kind: 'progress', phase: 'answers', label, done: t * questions.length + done, total }),
            });
            answers.push(got.map((turns) => turns[0] ?? ''));
          }
          model.setAdapter(null);

          if (request.judge.type === 'model') emit({ kind: 'progress', phase: 'loading-judge', label: `loading the judge ${request.judge.label}`, done: 0, total: 1 });
          const started = await startJudge(request.judge, endpoint, active, model.ctx, request.judgeMaxNewTokens, (r) => emit({ kind: 'request', request: storedRequest(r) }));
          judgeName = started.judge.name;
          judgeKind = started.kind;
          const answerSet = (t: number) => new Map<QuestionId, string[]>(questions.map((q, i) => [q.questionId, [answers[t][i]]]));
          try {
            const common = { judge: started.judge, questions, references, prompts: { general: prompt }, parallel: JUDGE_PARALLEL, signal };
            if (request.mode === 'pairwise') {
              judgement.pairwise = [];
              for (let t = 1; t < targets.length && !signal.aborted; t++) {
                const label = `judging ${targetName(t)} against the base`;
                const onProgress = (done: number, n: number) => emit({ kind: 'progress', phase: 'judging', label, done: (t - 1) * n + done, total: (targets.length - 1) * n });
                const r = await judgePairwise({ ...common, candidate: answerSet(t), baseline: answerSet(0), onProgress });
                judgement.pairwise.push(storedPairs(t, r.pairs, r.summary));
              }
            } else {
              judgement.single = [];
              for (let t = 0; t < targets.length && !signal.aborted; t++) {
                const label = `grading the answers of ${targetName(t)}`;
                const onProgress = (done: number, n: number) => emit({ kind: 'progress', phase: 'judging', label, done: t * n + done, total: targets.length * n });
                const r = await judgeSingle({ ...common, answers: answerSet(t), onProgress });
                judgement.single.push(storedGrading(t, r.grades, r.summary));
              }
            }
          } finally {
            if (started.kind === 'endpoint') requests = started.requests().map(storedRequest);
            started.dispose();
          }
        } catch (err) {
          if (signal.aborted && answers.length < targets.length) throw new Error('The judgement was cancelled before every answer was generated: nothing was judged or stored.');
          throw err;
        } finally {
          if (model.adapter && loras.includes(model.adapter as GpuLoraAdapter)) model.setAdapter(null);
          for (const l of loras) l.dispose();
          claim.release();
          running = null;
        }

        const cancelled = signal.aborted;
        const ref = modelRefOf(active);
        const record: EvalResultRecord = {
          id: crypto.randomUUID(),
          name: request.name.trim() || `${suite.name}: ${request.mode} judged by ${judgeName}`,
          createdAt: new Date().toISOString(),
          model: ref,
          modelName: modelName(ref, active.info.source),
          targets,
          adapterIds: adapters.map((a) => a.id),
          suites: [{ id: suite.id, name: suite.name, kind: 'judge', task: suite.name }],
          options: { shots: 0, seed: 0, ...(request.limit !== undefined ? { limit: request.limit } : {}) },
          results: [],
          comparisons: [],
          forgetting: [],
          status: cancelled ? 'cancelled' : 'completed',
          ...(cancelled ? { message: 'Cancelled: the questions judged before the cancel are kept.' } : {}),
          judgement: {
            mode: request.mode,
            judge: { kind: judgeKind, name: judgeName },
            prompt: storedPrompt(prompt),
            questions: questions.map((q) => ({ id: String(q.questionId), category: q.category, question: q.turns[0] })),
            answers,
            maxNewTokens: request.maxNewTokens,
            judgeMaxNewTokens: request.judgeMaxNewTokens,
            ...judgement,
            ...(requests ? { requests } : {}),
          },
        };
        await putEvalResult(db, record);
        return judgementSummary(record)!;
      } finally {
        releaseCallback(listener);
      }
    },

    async cancelJudgement() {
      running?.abort(new Error('The judgement was cancelled.'));
    },

    async listJudgements() {
      const all = await listEvalResults(await deps.db());
      return all.flatMap((r) => {
        const s = judgementSummary(r);
        return s ? [s] : [];
      });
    },

    async getJudgement(id) {
      const record = await getEvalResult(await deps.db(), id);
      if (!record.judgement) throw new Error(`The saved evaluation "${record.name}" is not a judgement.`);
      return record;
    },
  };
}
