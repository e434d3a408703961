// The training loop of every objective: for each optimizer step, the feed (step-feed.ts) gives the step's
// micro-batches (dataset examples in seeded order, or GRPO's scored completions), the backend accumulates
// the objective's gradients micro-batch by micro-batch (the loss normalised by totals over the whole
// accumulated step), clips and applies AdamW at the scheduled learning rate; then the objective turns the
// step's token log-probabilities into the logged loss and metrics. Held-out evaluation every evalEvery
// steps (and before the first step of a fresh run), checkpoints every saveEvery steps; metrics and
// checkpoints leave through hooks, so the CLI writes files and the studio writes IndexedDB. A non-finite
// loss or gradient norm stops the run at that step, before anything of the step is saved; a checkpoint
// whose tensors are not all finite stops it before that checkpoint is written (finite-guard.ts).

import type { TrainCheckpoint } from './checkpoint';
import { DatasetFeed } from './dataset-feed';
import { assertFiniteCheckpoint, assertFiniteStep } from './finite-guard';
import { mergeBatches, type EvalFields, type TrainingObjective } from './objective';
import { lrAt, validateSchedule, type SchedulerName } from './schedule';
import type { FedStep, StepFeed } from './step-feed';
import { batchTokens, trainedTokens } from './train-batch';
import type { TrainerBackend } from './trainer-backend';

export { evaluateSet } from './evaluate-set';

export interface LoopConfig {
  /** Examples per micro-batch (preference: pairs). */
  batchSize: number;
  /** Micro-batches per optimizer step. */
  gradAccum: number;
  /** Optimizer steps in the whole run. */
  steps: number;
  lr: number;
  scheduler: SchedulerName;
  warmupSteps: number;
  maxGradNorm: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Evaluate every N steps (0: never). */
  evalEvery: number;
  /** Checkpoint every N steps (0: only at the end). */
  saveEvery: number;
  seed: number;
}

export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  /** Tokens (input positions) processed by this step. */
  tokens: number;
  /** Labelled tokens whose log-probabilities the loss read. */
  trained_tokens: number;
  tokens_per_s: number;
  /** Fractional epoch reached. */
  epoch: number;
  /** The objective's metrics under TRL's names (rewards/chosen, ...); empty for SFT. */
  objective: Record<string, number>;
}

export type EvalMetrics = EvalFields & { step: number };

export interface TrainHooks {
  onStep?(m: StepMetrics): void | Promise<void>;
  onEval?(m: EvalMetrics): void | Promise<void>;
  onCheckpoint?(c: TrainCheckpoint): void | Promise<void>;
  /** Before training: the reference pass over the data when it is precomputed (done of total examples). */
  onReferenceProgress?(done: number, total: number): void;
  /**
   * The device ran out of memory with the reference's pass in the step: its log-probabilities are computed
   * once now (onReferenceProgress follows) and the step is trained again without that pass.
   */
  onReferenceFallback?(reason: string): void | Promise<void>;
  /** Checked between steps: stop after the current step (a checkpoint is written first). */
  signal?: AbortSignal;
  /** Wall clock in ms (injectable for tests). */
  now?(): number;
}

export interface TrainOptions {
  /** Compute the reference's log-probabilities once before training (TRL's precompute_ref_log_probs). */
  precomputeReference?: boolean;
}

export interface TrainResult {
  /** Steps completed (equals config.steps unless stopped). */
  step: number;
  stopped: boolean;
}

export function validateLoopConfig(c: LoopConfig): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('batch size', c.batchSize);
  positiveInt('gradient accumulation', c.gradAccum);
  positiveInt('steps', c.steps);
  if (!(c.maxGradNorm >= 0)) throw new RangeError(`max grad norm must be >= 0, got ${c.maxGradNorm}`);
  if (!Number.isInteger(c.evalEvery) || c.evalEvery < 0) throw new RangeError(`eval-every must be a non-negative integer, got ${c.evalEvery}`);
  if (!Number.isInteger(c.saveEvery) || c.saveEvery < 0) throw new RangeError(`save-every must be a non-negative integer, got ${c.saveEvery}`);
  validateSchedule({ name: c.scheduler, lr: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps });
}

/** Trains a dataset objective (SFT, DPO, SimPO, ORPO) on `train`, evaluating on `evalSet`. */
export async function runTraining<E, T>(
  backend: TrainerBackend,
  objective: TrainingObjective<E, T>,
  train: readonly E[],
  evalSet: readonly E[] | undefined,
  config: LoopConfig,
  hooks: TrainHooks = {},
  resume?: TrainCheckpoint,
  options: TrainOptions = {},
): Promise<TrainResult> {
  validateLoopConfig(config);
  const feed = new DatasetFeed(backend, objective, train, evalSet, {
    batchSize: config.batchSize,
    gradAccum: config.gradAccum,
    seed: config.seed,
    precomputeReference: options.precomputeReference,
    onReferenceProgress: hooks.onReferenceProgress,
    onReferenceFallback: hooks.onReferenceFallback,
  }, resume?.cursor);
  return trainWithFeed(backend, objective, feed, config, hooks, resume);
}

const STOPPED = Symbol('stopped');

/** `work`'s value, or STOPPED when the run's signal stopped it (an AbortError while aborted); other errors are thrown. */
async function unlessStopped<R>(signal: AbortSignal | undefined, work: () => Promise<R>): Promise<R | typeof STOPPED> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError' && signal?.aborted) return STOPPED;
    throw err;
  }
}

/** The loop over any feed: the optimizer steps, evaluations, checkpoints and the non-finite guard. */
export async function trainWithFeed<T>(
  backend: TrainerBackend,
  objective: TrainingObjective<unknown, T>,
  feed: StepFeed,
  config: LoopConfig,
  hooks: TrainHooks = {},
  resume?: TrainCheckpoint,
): Promise<TrainResult> {
  validateLoopConfig(config);
  const now = hooks.now ?? (() => performance.now());
  let step = resume?.step ?? 0;
  let lastCheckpoint = resume?.step ?? 0;
  if (resume) await backend.restore(resume.adapter, resume.optimizer);
  await feed.prepare?.();

  const runEval = async () => {
    const fields = await feed.evaluate?.(hooks.signal);
    if (fields) await hooks.onEval?.({ step, ...fields });
  };
  const checkpoint = async () => {
    if (!hooks.onCheckpoint) return;
    const [adapter, optimizer] = await Promise.all([backend.snapshot(), backend.optimizerState()]);
    const saved: TrainCheckpoint = { step, cursor: feed.cursor(), feed: feed.state?.(), adapter, optimizer };
    assertFiniteCheckpoint(saved, lastCheckpoint);
    await hooks.onCheckpoint(saved);
    lastCheckpoint = step;
  };
  const stop = async () => {
    await checkpoint();
    return { step, stopped: true };
  };

  if (!resume && config.evalEvery > 0 && (await unlessStopped(hooks.signal, runEval)) === STOPPED) return stop();
  while (step < config.steps) {
    if (hooks.signal?.aborted) return stop();
    const started = now();
    // Stopped while the feed was sampling: nothing of this step was used, the checkpoint is the last step's.
    const next = await unlessStopped(hooks.signal, () => feed.next(hooks.signal));
    if (next === STOPPED) return stop();
    let fed: FedStep = next;
    const lr = lrAt({ name: config.scheduler, lr: config.lr, warmupSteps: config.warmupSteps, totalSteps: config.steps }, step);
    const hyper = { lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm };
    let totals = objective.totals(fed.micro);
    let trained: Awaited<ReturnType<TrainerBackend['trainStep']>>;
    try {
      trained = await backend.trainStep(fed.micro, objective, totals, hyper);
    } catch (err) {
      const retry = await feed.recover?.(err, fed);
      if (!retry) throw err;
      fed = { ...retry, metrics: fed.metrics };
      totals = objective.totals(fed.micro);
      trained = await backend.trainStep(fed.micro, objective, totals, hyper);
    }
    const { micro } = fed;
    const { logps, gradNorm } = trained;
    const merged = mergeBatches(micro);
    const hasRef = logps.every((l) => l.reference);
    const { loss, metrics } = objective.evaluate(
      { batch: merged, policy: logps.flatMap((l) => l.policy), reference: hasRef ? logps.flatMap((l) => l.reference!) : undefined },
      totals,
    );
    assertFiniteStep(step + 1, loss, gradNorm, lastCheckpoint);
    step++;
    const seconds = Math.max(1e-9, (now() - started) / 1000);
    const tokens = micro.reduce((n, b) => n + batchTokens(b), 0);
    await hooks.onStep?.({
      step,
      loss,
      lr,
      grad_norm: gradNorm,
      tokens,
      trained_tokens: micro.reduce((n, b) => n + trainedTokens(b), 0),
      tokens_per_s: tokens / seconds,
      epoch: feed.epoch(),
      objective: { ...fed.metrics, ...metrics },
    });
    if (config.evalEvery > 0 && step % config.evalEvery === 0 && (await unlessStopped(hooks.signal, runEval)) === STOPPED) return stop();
    if (config.saveEvery > 0 && step % config.saveEvery === 0 && step < config.steps) await checkpoint();
  }
  if (config.evalEvery > 0 && step % config.evalEvery !== 0) await unlessStopped(hooks.signal, runEval);
  await checkpoint();
  return { step, stopped: false };
}
