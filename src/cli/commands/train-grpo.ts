// `tunelab train --method grpo`: completions sampled from the --data prompts with the adapter as trained so
// far (or fixed ones from --rollouts), scored by the --reward functions (custom ones from --reward-module run
// in a sandbox with no network and a time limit per call), trained with TRL's GRPO objective. Writes what
// every method writes (adapter, metrics.jsonl, run.json, checkpoints) plus rollouts.jsonl, every completion
// with its rewards. The checkpoint holds the sampler's position, so --resume samples the same completions.

import { ModelTokenizer } from '../../engine/model/tokenizer';
import type { TrainCheckpoint } from '../../engine/train/checkpoint';
import type { GrpoObjective } from '../../engine/train/grpo/grpo-objective';
import type { RolloutReport } from '../../engine/train/grpo/rollout-feed';
import { FileRolloutSource, LiveRolloutSource, type RolloutSource } from '../../engine/train/grpo/rollout-source';
import { createRewardSet, parseRewardSpecs, type RewardSet, type RewardSpec } from '../../engine/train/grpo/rewards';
import { runGrpoTraining } from '../../engine/train/grpo/run-grpo';
import { makeGrpoObjective } from '../../engine/train/objectives/make-objective';
import type { LoopConfig } from '../../engine/train/train-loop';
import { createNodeSandbox } from '../../node/sandbox/node-sandbox';
import { UsageError } from '../args';
import { loadGrpoData, type GrpoData } from '../grpo-data';
import { readModel } from '../load-model';
import type { TrainArgs } from '../options/train';
import { Progress } from '../progress';
import { readRewardModule, type LoadedRewardModule } from '../reward-module';
import { METRICS_FILE, ROLLOUTS_FILE, RunFiles } from '../run-files';
import { runFingerprint } from '../run-fingerprint';
import type { CliStreams } from '../streams';
import { TrainProgress } from '../train-progress';
import { buildAdapter, loopConfig, openRunFolder, planRun, runInterruptible, trainingRecord } from '../train-setup';
import { startTraining, type TrainingSession } from '../train-session';

/** Held-out completions decoded together at most (each holds a KV cache), unless a generation batch has more. */
const HELD_OUT_SEQUENCES = 64;

/** Rollout rows printed under each evaluation. */
const SHOWN_EVAL_ROLLOUTS = 2;

function grpoRecord(objective: GrpoObjective, args: TrainArgs, data: GrpoData) {
  const c = objective.config;
  return {
    num_generations: c.numGenerations,
    num_generations_eval: c.numGenerationsEval,
    max_completion_length: c.maxCompletionLength,
    temperature: c.temperature,
    top_p: c.topP,
    top_k: c.topK,
    stop: c.stopStrings,
    beta: c.beta,
    epsilon: c.epsilon,
    epsilon_high: c.epsilonHigh,
    num_iterations: c.numIterations,
    loss_type: c.lossType,
    scale_rewards: c.scaleRewards,
    mask_truncated_completions: c.maskTruncatedCompletions,
    reward: args.grpo.rewards ?? null,
    reward_modules: args.grpo.rewardModules,
    reward_time_limit_ms: args.grpo.rewardTimeLimitMs,
    rollouts: args.grpo.rollouts ?? null,
    train_prompts: data.train.length,
    eval_prompts: data.eval.length,
  };
}

interface RewardInputs {
  modules: LoadedRewardModule[];
  specs: RewardSpec[];
}

/** The --reward specs and --reward-module files, read and checked (before the model loads, so a bad file fails fast). */
async function readRewardInputs(args: TrainArgs): Promise<RewardInputs> {
  const modules = await Promise.all(args.grpo.rewardModules.map(readRewardModule));
  const specs = args.grpo.rewards ? parseRewardSpecs(args.grpo.rewards) : [];
  return { modules, specs };
}

async function buildRewards(args: TrainArgs, { modules, specs }: RewardInputs): Promise<{ rewards: RewardSet; dispose(): void }> {
  const sandbox = modules.length || specs.some((s) => s.kind === 'custom') ? createNodeSandbox() : undefined;
  try {
    const rewards = await createRewardSet(specs, { sandbox, timeLimitMs: args.grpo.rewardTimeLimitMs, customModules: modules });
    return {
      rewards,
      dispose: () => {
        rewards.dispose();
        sandbox?.dispose();
      },
    };
  } catch (err) {
    sandbox?.dispose();
    throw err;
  }
}

/** A rollouts file's groups all have one size (data/rollouts-file.ts): --num-generations(-eval) must be it. */
function checkGroupSize(args: TrainArgs, data: Extract<GrpoData, { kind: 'rollouts' }>, objective: GrpoObjective): void {
  const size = data.train[0].completions.length;
  const { numGenerations, numGenerationsEval } = objective.config;
  if (size !== numGenerations) {
    throw new UsageError(`${args.grpo.rollouts}: its groups have ${size} completions each, but --num-generations is ${numGenerations}: give --num-generations ${size}`);
  }
  const held = data.eval[0]?.completions.length;
  if (held !== undefined && held !== numGenerationsEval) {
    throw new UsageError(`${args.evalData ?? args.grpo.rollouts}: its held-out groups have ${held} completions each, but --num-generations-eval is ${numGenerationsEval}: give --num-generations-eval ${held}`);
  }
}

export async function runGrpoTrain(args: TrainArgs, io: CliStreams): Promise<number> {
  const progress = new Progress(io.stderr, args.quiet);
  const objective = makeGrpoObjective(args.grpo.settings);
  // A command-line mismatch: reported before the model loads.
  const perStep = args.batchSize * args.gradAccum;
  const G = objective.config.numGenerations;
  if (perStep % G !== 0) {
    throw new UsageError(`--batch-size x --grad-accum (${args.batchSize} x ${args.gradAccum} = ${perStep} completions per step) must be a multiple of --num-generations (${G}): each prompt's ${G} completions train in the same step`);
  }
  const promptsPerGeneration = perStep / G;
  const rewardInputs = args.grpo.rollouts === undefined ? await readRewardInputs(args) : undefined;
  const disk = await readModel(args, progress);
  const { files, weights } = disk;
  const config = files.config;
  const tokenizer = new ModelTokenizer(files);
  const data = await loadGrpoData(args, tokenizer, config.vocabSize, progress);
  if (data.kind === 'rollouts') checkGroupSize(args, data, objective);
  const rewards = rewardInputs ? await buildRewards(args, rewardInputs) : undefined;
  try {
    const adapter = await buildAdapter(args, config.architecture, weights, progress);
    // An epoch visits every prompt once; each generation batch trains num_iterations steps.
    const generations = Math.ceil(((args.epochs ?? 1) * data.train.length) / promptsPerGeneration);
    const steps = args.steps ?? Math.max(1, generations * objective.config.numIterations);
    // The KL term's reference after SFT: the initial adapter, frozen; the policy trains a copy of it.
    const fingerprint = runFingerprint(data.train, data.kind === 'rollouts' ? args.grpo.rollouts! : args.data, args.seed, args.method);
    const { reference, evalEvery, resume, referenceRecord } = await planRun(args, objective, { architecture: config.architecture, weights }, adapter, steps, { fingerprint, heldOut: data.eval.length }, progress);

    const loop = loopConfig(args, steps, evalEvery);
    const runFiles = new RunFiles(args.out, args.model, fingerprint);
    const record = { command: 'train', method: 'grpo', model: args.model, revision: args.revision ?? null, data: args.data || null, eval_data: args.evalData ?? null, eval_split: args.evalData ? null : args.evalSplit };
    const run = { ...record, ...grpoRecord(objective, args, data), ...referenceRecord, ...trainingRecord(args, adapter, loop) };
    await openRunFolder(args, runFiles, run, resume?.step, progress, [METRICS_FILE, ROLLOUTS_FILE]);

    const session = await startTraining(disk, { backend: args.backend, weights: args.weights, recompute: args.recompute, seed: args.seed, reference, log: (line) => progress.line(line) }, adapter, tokenizer);
    try {
      const source: RolloutSource =
        data.kind === 'rollouts'
          ? new FileRolloutSource(data.train, config.eosTokenIds, data.eval, (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }))
          : new LiveRolloutSource({ policy: () => session.policy(), tokenizer, train: data.train, heldOut: data.eval, rewards: rewards!.rewards, config: objective.config, seed: args.seed, maxSequences: Math.max(HELD_OUT_SEQUENCES, perStep) });
      const bar = new TrainProgress(io.stderr, args.quiet, steps, resume?.step ?? 0);
      const what = data.kind === 'rollouts' ? `${data.train.length} fixed groups` : `${data.train.length} prompts (${data.eval.length} held out), rewards ${rewards!.rewards.names.join(', ')}`;
      bar.line(
        `training ${adapter.modules.length} LoRA modules (r=${adapter.config.r}, alpha=${adapter.config.alpha}) with GRPO (${objective.config.lossType}) on ${session.description}: ` +
          `${what}; ${steps} steps of ${promptsPerGeneration} prompts x ${objective.config.numGenerations} completions${resume ? `, resuming after step ${resume.step}` : ''}`,
      );
      return await train(args, objective, source, loop, { session, runFiles, bar, resume });
    } finally {
      session.dispose();
    }
  } finally {
    rewards?.dispose();
  }
}

interface GrpoContext {
  session: TrainingSession;
  runFiles: RunFiles;
  bar: TrainProgress;
  resume: TrainCheckpoint | undefined;
}

function rolloutRows(r: RolloutReport) {
  return r.rows.map((row) => ({ step: r.step, generation: r.generation, ...row }));
}

function failureLine(r: RolloutReport): string | undefined {
  if (r.failures.length === 0) return undefined;
  const first = r.failures[0];
  return `${r.failures.length} reward call${r.failures.length === 1 ? '' : 's'} failed and scored 0 (first: ${first.name} on group ${first.group}, completion ${first.completion}: ${first.message})`;
}

async function train(args: TrainArgs, objective: GrpoObjective, source: RolloutSource, loop: LoopConfig, c: GrpoContext): Promise<number> {
  const { runFiles, bar } = c;
  let evalRows: RolloutReport | undefined;
  const evalDue = (step: number) => loop.evalEvery > 0 && step % loop.evalEvery === 0 && source.heldOutSize > 0;
  return runInterruptible(args, runFiles, bar, (signal, abort, onCheckpoint) =>
    runGrpoTraining(
      c.session.backend,
      objective,
      source,
      loop,
      {
        signal,
        onRollouts: async (r) => {
          await runFiles.rollouts(rolloutRows(r));
          const failed = failureLine(r);
          if (failed) bar.line(`step ${r.step}: ${failed}`);
        },
        onEvalRollouts: (r) => {
          evalRows = r;
        },
        onStep: async (m) => {
          const { objective: metrics, ...row } = m;
          await runFiles.metric({ ...row, ...metrics });
          bar.step(m);
          // An evaluation due at this step samples held-out rollouts, which a stop would cut short (and a
          // resume never redoes): stop after it instead.
          if (m.step === args.stopAfterStep && !evalDue(m.step)) abort();
        },
        onEval: async (m) => {
          const { objective: metrics, ...row } = m;
          const samples = (evalRows?.rows ?? []).slice(0, args.evalSamples).map((r) => ({ prompt: r.prompt, completion: r.completion, reward: r.reward, rewards: r.rewards }));
          await runFiles.metric({ ...row, ...metrics, ...(samples.length ? { samples } : {}) });
          bar.evaluation(m, samples.slice(0, SHOWN_EVAL_ROLLOUTS).map((s) => `${s.completion} (reward ${s.reward.toFixed(3)})`));
          const failed = evalRows && failureLine(evalRows);
          if (failed) bar.line(`held-out rollouts: ${failed}`);
          if (m.step === args.stopAfterStep) abort();
        },
        onCheckpoint,
      },
      c.resume,
    ),
  );
}
