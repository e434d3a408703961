// `tunelab train`: LoRA SFT from the command line. Reads and checks everything (model, data, adapter,
// checkpoint) before touching the GPU, then runs the SFT loop with metrics.jsonl, checkpoints and the final
// PEFT adapter in --out. Ctrl-C stops after the current step and writes a checkpoint to resume from.

import { initAdapter, planAdapter, type LoraAdapter } from '../../engine/lora/adapter';
import type { LoraConfig } from '../../engine/lora/lora-config';
import type { Architecture } from '../../engine/model/config';
import { ModelTokenizer } from '../../engine/model/tokenizer';
import type { TokenizedExample } from '../../engine/data/tokenize-sft';
import { readCheckpoint, type TrainCheckpoint } from '../../engine/train/checkpoint';
import { runSft, type SftRunConfig } from '../../engine/train/sft-loop';
import { Rng } from '../../engine/util/rng';
import { readAdapterDir } from '../../node/adapter-files';
import { readModel } from '../load-model';
import type { TrainArgs } from '../options/train';
import { Progress } from '../progress';
import { readCheckpointFile, RunFiles } from '../run-files';
import type { CliStreams } from '../streams';
import { loadSftData, splitExamples } from '../train-data';
import { TrainProgress } from '../train-progress';
import { startTraining } from '../train-session';

const EXIT_INTERRUPTED = 130;
const SAMPLE_TOKENS = 48;

const DEFAULT_TARGETS: Record<Architecture, string[]> = { llama: ['q_proj', 'v_proj'], qwen2: ['q_proj', 'v_proj'], gpt2: ['c_attn'] };

async function buildAdapter(args: TrainArgs, architecture: Architecture, weights: Parameters<typeof planAdapter>[1]): Promise<LoraAdapter> {
  if (args.initAdapter) {
    const adapter = await readAdapterDir(args.initAdapter, architecture, weights);
    if (args.loraDropout !== undefined) adapter.config.dropout = args.loraDropout;
    return adapter;
  }
  const config: LoraConfig = {
    r: args.loraR,
    alpha: args.loraAlpha,
    dropout: args.loraDropout ?? 0,
    targets: args.targets.length ? args.targets : DEFAULT_TARGETS[architecture],
    useRslora: args.useRslora,
  };
  return initAdapter(planAdapter(architecture, weights, config), new Rng(args.seed));
}

/** The prompt part of an example (tokens before its first trained one), for sample generations. */
function promptOf(e: TokenizedExample): number[] {
  const first = e.trainMask.findIndex((m, i) => m === 1 && i > 0);
  return e.inputIds.slice(0, Math.max(1, first));
}

export async function runTrain(args: TrainArgs, io: CliStreams): Promise<number> {
  const progress = new Progress(io.stderr, args.quiet);
  const disk = await readModel(args, progress);
  const { files, weights } = disk;
  const config = files.config;
  const tokenizer = new ModelTokenizer(files);
  const maxLength = Math.min(args.maxLength ?? 512, config.maxPositions);
  const dataOptions = { maxLength, completionOnly: !args.trainPrompt };
  const data = await loadSftData(args.data, tokenizer, dataOptions, progress);
  let train = data.tokenized.examples;
  let evalSet: TokenizedExample[] = [];
  if (args.evalData) evalSet = (await loadSftData(args.evalData, tokenizer, dataOptions, progress)).tokenized.examples;
  else ({ train, eval: evalSet } = splitExamples(train, args.evalSplit, args.seed));

  const adapter = await buildAdapter(args, config.architecture, weights);
  const perStep = args.batchSize * args.gradAccum;
  const steps = args.steps ?? Math.max(1, Math.ceil(((args.epochs ?? 1) * train.length) / perStep));
  const evalEvery = args.evalEvery >= 0 ? args.evalEvery : evalSet.length ? Math.max(1, Math.round(steps / 10)) : 0;
  let resume: TrainCheckpoint | undefined;
  if (args.resume) resume = readCheckpoint(await readCheckpointFile(args.resume), planAdapter(config.architecture, weights, adapter.config), args.resume);
  if (resume && resume.step >= steps) throw new Error(`${args.resume}: the checkpoint is at step ${resume.step}, the run has ${steps} steps`);

  const runConfig: SftRunConfig = {
    batchSize: args.batchSize,
    gradAccum: args.gradAccum,
    steps,
    lr: args.lr,
    scheduler: args.scheduler,
    warmupSteps: args.warmupSteps,
    maxGradNorm: args.maxGradNorm,
    beta1: args.beta1,
    beta2: args.beta2,
    eps: args.eps,
    weightDecay: args.weightDecay,
    evalEvery,
    saveEvery: args.saveEvery,
    seed: args.seed,
  };
  const runFiles = new RunFiles(args.out, args.model);
  const run = {
    command: 'train',
    method: args.method,
    model: args.model,
    revision: args.revision ?? null,
    data: args.data,
    eval_data: args.evalData ?? null,
    eval_split: args.evalData ? null : args.evalSplit,
    train_examples: train.length,
    eval_examples: evalSet.length,
    truncated: data.tokenized.truncated,
    max_length: maxLength,
    completion_only: dataOptions.completionOnly,
    lora: {
      r: adapter.config.r,
      lora_alpha: adapter.config.alpha,
      lora_dropout: adapter.config.dropout,
      target_modules: adapter.config.targets,
      use_rslora: adapter.config.useRslora,
      scale: adapter.scale,
      modules: adapter.modules.length,
      init_adapter: args.initAdapter ?? null,
    },
    steps,
    epochs: args.epochs ?? null,
    batch_size: args.batchSize,
    grad_accum: args.gradAccum,
    lr: args.lr,
    scheduler: args.scheduler,
    warmup_steps: args.warmupSteps,
    max_grad_norm: args.maxGradNorm,
    beta1: args.beta1,
    beta2: args.beta2,
    eps: args.eps,
    weight_decay: args.weightDecay,
    eval_every: evalEvery,
    save_every: args.saveEvery,
    seed: args.seed,
    backend: args.backend,
    weights: args.weights,
    recompute: args.recompute,
    resumed_from: args.resume ?? null,
  };
  await runFiles.start(run, resume?.step);

  const session = await startTraining(disk, { backend: args.backend, weights: args.weights, recompute: args.recompute, seed: args.seed }, adapter, tokenizer);
  const bar = new TrainProgress(io.stderr, args.quiet, steps, resume?.step ?? 0);
  bar.line(
    `training ${adapter.modules.length} LoRA modules (r=${adapter.config.r}, alpha=${adapter.config.alpha}) on ${session.description}: ` +
      `${train.length} examples, ${evalSet.length} held out, ${steps} steps of ${perStep} examples${resume ? `, resuming after step ${resume.step}` : ''}`,
  );
  const samplePrompts = evalSet.slice(0, args.evalSamples).map(promptOf);
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  process.once('SIGINT', onInterrupt);
  let last: TrainCheckpoint | undefined;
  try {
    const result = await runSft(
      session.backend,
      train,
      evalSet,
      runConfig,
      {
        signal: abort.signal,
        onStep: async (m) => {
          await runFiles.metric({ step: m.step, loss: m.loss, lr: m.lr, grad_norm: m.grad_norm, tokens: m.tokens, trained_tokens: m.trained_tokens, tokens_per_s: m.tokens_per_s, epoch: m.epoch });
          bar.step(m);
          if (m.step === args.stopAfterStep) abort.abort();
        },
        onEval: async (m) => {
          const samples = samplePrompts.length ? await session.samples(samplePrompts, SAMPLE_TOKENS) : [];
          await runFiles.metric({ ...m, ...(samples.length ? { samples } : {}) });
          bar.evaluation(m, samples);
        },
        onCheckpoint: async (c) => {
          last = c;
          const dir = await runFiles.checkpoint(c);
          bar.line(`checkpoint: ${dir}`);
        },
      },
      resume,
    );
    if (last) await runFiles.finalAdapter(last);
    bar.line(result.stopped ? `stopped after step ${result.step}; resume with --resume ${runFiles.checkpointDir(result.step)}` : `done: adapter in ${args.out}`);
    if (!result.stopped) return 0;
    return result.step === args.stopAfterStep ? 0 : EXIT_INTERRUPTED;
  } finally {
    process.off('SIGINT', onInterrupt);
    session.dispose();
  }
}
