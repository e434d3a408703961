// What every `tunelab train` method shares: the LoRA adapter to train (fresh or --init-adapter), the loop
// settings from the flags, run.json's LoRA/optimizer/loop fields, and the exit status of an interrupted run.

import { cloneAdapter, initAdapter, planAdapter, type LoraAdapter } from '../engine/lora/adapter';
import type { LoraConfig } from '../engine/lora/lora-config';
import type { Architecture } from '../engine/model/config';
import { readCheckpoint, type RunFingerprint, type TrainCheckpoint } from '../engine/train/checkpoint';
import type { LoopConfig, TrainResult } from '../engine/train/train-loop';
import { Rng } from '../engine/util/rng';
import { readAdapterReporting } from './load-model';
import type { Progress } from './progress';
import { EXIT_INTERRUPTED } from './errors';
import type { TrainArgs } from './options/train';
import { removeEarlierRun } from './out-dir';
import { checkFiniteResume, checkResume } from './resume-check';
import { readCheckpointFile, type RunFiles } from './run-files';
import type { TrainProgress } from './train-progress';

const DEFAULT_TARGETS: Record<Architecture, string[]> = { llama: ['q_proj', 'v_proj'], qwen2: ['q_proj', 'v_proj'], gpt2: ['c_attn'] };

export async function buildAdapter(args: TrainArgs, architecture: Architecture, weights: Parameters<typeof planAdapter>[1], progress: Pick<Progress, 'line'>): Promise<LoraAdapter> {
  if (args.initAdapter) {
    const adapter = await readAdapterReporting(args.initAdapter, architecture, weights, progress);
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

export function loopConfig(args: TrainArgs, steps: number, evalEvery: number): LoopConfig {
  return {
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
}

/** run.json's LoRA, optimizer and loop fields, shared by every method. */
export function trainingRecord(args: TrainArgs, adapter: LoraAdapter, config: LoopConfig) {
  return {
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
    steps: config.steps,
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
    eval_every: config.evalEvery,
    save_every: args.saveEvery,
    seed: args.seed,
    backend: args.backend,
    weights: args.weights,
    recompute: args.recompute,
    resumed_from: args.resume ?? null,
  };
}

/**
 * Runs `body` with Ctrl-C wired to its abort signal, then writes the final adapter from the last checkpoint
 * and says how to resume; the exit status: 0, or 130 when interrupted (not by --stop-after-step).
 */
export async function runInterruptible(
  args: TrainArgs,
  runFiles: RunFiles,
  bar: TrainProgress,
  body: (signal: AbortSignal, abort: () => void, onCheckpoint: (c: TrainCheckpoint) => Promise<void>) => Promise<TrainResult>,
): Promise<number> {
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  process.once('SIGINT', onInterrupt);
  let last: TrainCheckpoint | undefined;
  const onCheckpoint = async (checkpoint: TrainCheckpoint) => {
    last = checkpoint;
    bar.line(`checkpoint: ${await runFiles.checkpoint(checkpoint)}`);
  };
  try {
    const result = await body(abort.signal, () => abort.abort(), onCheckpoint);
    if (last) await runFiles.finalAdapter(last);
    bar.line(result.stopped ? `stopped after step ${result.step}; resume with --resume ${runFiles.checkpointDir(result.step)}` : `done: adapter in ${args.out}`);
    if (!result.stopped) return 0;
    return result.step === args.stopAfterStep ? 0 : EXIT_INTERRUPTED;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** What every method settles once the adapter and the run's steps are known. */
export interface RunPlan {
  /** A copy of the --init-adapter when the objective reads a frozen reference (the policy trains the original). */
  reference?: LoraAdapter;
  evalEvery: number;
  resume?: TrainCheckpoint;
  /** run.json's description of the reference, when the objective reads one. */
  referenceRecord: { reference?: string };
}

/** What a run trains on, as its checkpoints record it (run-fingerprint.ts). */
export interface RunData {
  fingerprint: RunFingerprint;
  heldOut: number;
}

export async function planRun(
  args: TrainArgs,
  objective: { readsReference: boolean },
  model: { architecture: Architecture; weights: Parameters<typeof planAdapter>[1] },
  adapter: LoraAdapter,
  steps: number,
  data: RunData,
  progress: Pick<Progress, 'warning'>,
): Promise<RunPlan> {
  const reference = objective.readsReference && args.initAdapter ? cloneAdapter(adapter) : undefined;
  // About ten evaluations a run unless --eval-every says otherwise; none without held-out data.
  const evalEvery = args.evalEvery >= 0 ? args.evalEvery : data.heldOut ? Math.max(1, Math.round(steps / 10)) : 0;
  let resume: TrainCheckpoint | undefined;
  if (args.resume) {
    resume = readCheckpoint(await readCheckpointFile(args.resume), planAdapter(model.architecture, model.weights, adapter.config), args.resume);
    checkFiniteResume(resume, args.resume);
    for (const warning of checkResume(resume, { checkpoint: args.resume, steps, fingerprint: data.fingerprint })) progress.warning(warning);
  }
  const referenceRecord = objective.readsReference ? { reference: args.initAdapter ? `base + ${args.initAdapter} (frozen)` : 'base (adapter off)' } : {};
  return { reference, evalEvery, resume, referenceRecord };
}

/**
 * Writes run.json and sets the logs up: with --force the earlier run in --out is deleted first (said on
 * stderr), a resumed run keeps its log rows up to the checkpoint. Called once everything has been read and
 * checked, so a refused run leaves the folder as it was.
 */
export async function openRunFolder(args: TrainArgs, runFiles: RunFiles, run: object, resumedStep: number | undefined, progress: Pick<Progress, 'line' | 'warning'>, logs?: string[]): Promise<void> {
  if (args.force) {
    const removed = await removeEarlierRun(args.out);
    if (removed) progress.line(`--force: deleted the earlier run in ${args.out}: ${removed}`);
  }
  for (const warning of await runFiles.start(run, resumedStep, logs)) progress.warning(warning);
}
