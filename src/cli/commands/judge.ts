// `tunelab judge`: MT-Bench style LLM-as-a-judge. Reads and checks the questions, judge prompts and
// reference answers; generates the adapter's and the base's greedy answers (the first turn, or both turns
// with --turns 2, the second from the model's own first answer, as FastChat's gen_model_answer.py); frees
// that model; loads the judge with our engine in this process (or uses an OpenAI-compatible endpoint named
// with --judge-endpoint) and judges: single-answer grading of each model's answers, or --pairwise adapter
// against base in both orders. Progress on stderr; one JSON object on stdout (and in --json OUT).

import { writeFile } from 'node:fs/promises';
import { answerQuestions } from '../../engine/eval/judge/answers';
import { EndpointJudge } from '../../engine/eval/judge/endpoint-judge';
import { EngineJudge } from '../../engine/eval/judge/engine-judge';
import type { JudgeModel } from '../../engine/eval/judge/judge-model';
import type { JudgeQuestion, QuestionId } from '../../engine/eval/judge/records';
import { judgePairwise, judgeSingle } from '../../engine/eval/judge/run-judge';
import { GpuCausalLm } from '../../engine/model/gpu/gpu-model';
import { ModelTokenizer } from '../../engine/model/tokenizer';
import { readModel, startModel, type LoadedModel, type ModelOnDisk } from '../load-model';
import { JUDGE_API_KEY_ENV, type JudgeArgs } from '../options/judge';
import { Progress } from '../progress';
import type { CliStreams } from '../streams';
import { readJudgeInputs } from './judge-inputs';
import { pairwiseReport, singleReport, type PairRun, type SingleRun } from './judge-report';

type Answers = Map<QuestionId, string[]>;

/** The answers of the model with the adapter (when given) and without it. */
async function generateAnswers(args: JudgeArgs, disk: ModelOnDisk, questions: JudgeQuestion[], progress: Progress): Promise<{ base: Answers; adapter?: Answers }> {
  const tokenizer = new ModelTokenizer(disk.files);
  const answer = async (loaded: LoadedModel, who: string): Promise<Answers> => {
    const answers = await answerQuestions(loaded.model, tokenizer, disk.files, questions, {
      turns: args.turns,
      maxNewTokens: args.maxNewTokens,
      batchSize: args.batchSize,
      onProgress: (done, total) => progress.line(`answers of the ${who}: ${done}/${total}`),
    });
    return new Map(questions.map((q, i) => [q.questionId, answers[i]]));
  };
  const loaded = await startModel(disk, args, progress);
  try {
    if (!disk.adapter) return { base: await answer(loaded, 'base model') };
    const adapter = await answer(loaded, 'adapter');
    // The GPU engine switches its adapter off; the CPU reference has it merged, so the base is loaded anew.
    if (loaded.model instanceof GpuCausalLm) {
      loaded.model.setAdapter(null);
      return { adapter, base: await answer(loaded, 'base model') };
    }
    const base = await startModel({ ...disk, adapter: undefined }, args, progress);
    try {
      return { adapter, base: await answer(base, 'base model') };
    } finally {
      base.dispose();
    }
  } finally {
    loaded.dispose();
  }
}

/** The judge: our engine running --judge, or the --judge-endpoint the user named. */
async function startJudge(args: JudgeArgs, judgeDisk: ModelOnDisk | undefined, progress: Progress): Promise<{ judge: JudgeModel; dispose(): void }> {
  if (args.judge.type === 'endpoint') {
    const judge = new EndpointJudge({ baseUrl: args.judge.url, model: args.judge.model, apiKey: process.env[JUDGE_API_KEY_ENV] || undefined });
    progress.line(`judge: ${judge.name}${process.env[JUDGE_API_KEY_ENV] ? '' : ` (no $${JUDGE_API_KEY_ENV}: no key sent)`}`);
    return { judge, dispose: () => {} };
  }
  const loaded = await startModel(judgeDisk!, { ...args, model: args.judge.model, revision: undefined, adapter: undefined }, progress);
  const judge = new EngineJudge(loaded.model, new ModelTokenizer(judgeDisk!.files), judgeDisk!.files, {
    name: args.judge.model,
    maxNewTokens: args.judgeMaxNewTokens,
    batchSize: args.batchSize,
  });
  progress.line(`judge: ${args.judge.model} (${judge.style === 'chat' ? 'its chat template' : 'plain text: it has no chat template'}, greedy, up to ${args.judgeMaxNewTokens} new tokens)`);
  return { judge, dispose: () => loaded.dispose() };
}

export async function runJudge(args: JudgeArgs, io: CliStreams): Promise<void> {
  const progress = new Progress(io.stderr, args.quiet);
  const inputs = await readJudgeInputs(args);
  const { questions, references, plans } = inputs;
  progress.line(`${questions.length} questions from ${args.questions}; judge prompts ${plans.map((p) => [p.prompts.general.name, p.prompts.reference?.name].filter(Boolean).join(' / ')).join(', ')} from ${inputs.promptsFile}`);
  // Every file of both models is read and checked before the GPU is touched.
  const disk = await readModel(args, progress);
  const judgeDisk = args.judge.type === 'model' ? await readModel({ ...args, model: args.judge.model, revision: undefined, adapter: undefined }, progress) : undefined;

  const answers = await generateAnswers(args, disk, questions, progress);
  const { judge, dispose } = await startJudge(args, judgeDisk, progress);
  const started = performance.now();
  let report: Record<string, unknown>;
  try {
    const common = { judge, questions, references };
    const tick = (turn: number) => (done: number, total: number) => progress.line(`judging turn ${turn}: ${done}/${total} questions`);
    if (args.pairwise) {
      const runs: PairRun[] = [];
      for (const plan of plans) {
        const r = await judgePairwise({ ...common, prompts: plan.prompts, candidate: answers.adapter!, baseline: answers.base, parallel: Math.max(1, Math.floor(args.batchSize / 2)), onProgress: tick(plan.turn) });
        runs.push({ turn: plan.turn, pairs: r.pairs });
      }
      report = pairwiseReport(runs, answers.adapter!, answers.base);
    } else {
      const models: Record<string, Answers> = { base: answers.base, ...(answers.adapter ? { adapter: answers.adapter } : {}) };
      const runs: SingleRun[] = [];
      for (const plan of plans) {
        const grades: SingleRun['grades'] = {};
        for (const [who, set] of Object.entries(models)) {
          grades[who] = (await judgeSingle({ ...common, prompts: plan.prompts, answers: set, parallel: args.batchSize, onProgress: tick(plan.turn) })).grades;
        }
        runs.push({ turn: plan.turn, grades });
      }
      report = singleReport(runs, models);
    }
  } finally {
    dispose();
  }
  progress.line(`judged in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const result = {
    model: args.model,
    adapter: args.adapter ?? null,
    judge: judge.name,
    mode: args.pairwise ? 'pairwise' : 'single',
    questions: args.questions,
    question_count: questions.length,
    turns: plans.map((p) => p.turn),
    judge_prompts: inputs.promptsFile,
    max_new_tokens: args.maxNewTokens,
    judge_max_new_tokens: args.judgeMaxNewTokens,
    ...report,
    ...(judge instanceof EndpointJudge ? { requests: judge.requests } : {}),
  };
  const text = `${JSON.stringify(result, null, 2)}\n`;
  if (args.json) await writeFile(args.json, text);
  io.stdout.write(text);
}
