// The SFT training loop: for each optimizer step, take batchSize x gradAccum examples in seeded order,
// accumulate gradients micro-batch by micro-batch with the loss normalised by the trained tokens of the
// whole accumulated batch, then clip and apply AdamW at the scheduled learning rate. Held-out evaluation
// every evalEvery steps (and before the first step of a fresh run), checkpoints every saveEvery steps;
// metrics and checkpoints leave through hooks, so the CLI writes files and the studio writes IndexedDB.

import type { TokenizedExample } from '../data/tokenize-sft';
import type { TrainCheckpoint } from './checkpoint';
import { DataOrder } from './data-order';
import { lrAt, validateSchedule, type SchedulerName } from './schedule';
import { batchTokens, shiftedLabels, trainedTokens, type TrainBatch } from './train-batch';
import type { TrainerBackend } from './trainer-backend';

export interface SftRunConfig {
  /** Examples per micro-batch. */
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
  /** Trained tokens of this step. */
  trained_tokens: number;
  tokens_per_s: number;
  /** Fractional epoch reached. */
  epoch: number;
}

export interface EvalMetrics {
  step: number;
  eval_loss: number;
  eval_perplexity: number;
  eval_tokens: number;
}

export interface SftHooks {
  onStep?(m: StepMetrics): void | Promise<void>;
  onEval?(m: EvalMetrics): void | Promise<void>;
  onCheckpoint?(c: TrainCheckpoint): void | Promise<void>;
  /** Checked between steps: stop after the current step (a checkpoint is written first). */
  signal?: AbortSignal;
  /** Wall clock in ms (injectable for tests). */
  now?(): number;
}

export interface SftResult {
  /** Steps completed (equals config.steps unless stopped). */
  step: number;
  stopped: boolean;
}

export function toTrainBatch(examples: readonly TokenizedExample[]): TrainBatch {
  return {
    sequences: examples.map((e) => ({ inputIds: Int32Array.from(e.inputIds), labels: shiftedLabels(e.inputIds, e.trainMask) })),
  };
}

function validate(c: SftRunConfig): void {
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

/** Mean loss over an evaluation set, in micro-batches of batchSize. */
export async function evaluate(backend: TrainerBackend, examples: readonly TokenizedExample[], batchSize: number): Promise<{ loss: number; tokens: number }> {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const r = await backend.evalLoss(toTrainBatch(examples.slice(i, i + batchSize)));
    sum += r.sum;
    count += r.count;
  }
  if (count === 0) throw new RangeError('the evaluation set has no trained tokens');
  return { loss: sum / count, tokens: count };
}

export async function runSft(
  backend: TrainerBackend,
  train: readonly TokenizedExample[],
  evalSet: readonly TokenizedExample[] | undefined,
  config: SftRunConfig,
  hooks: SftHooks = {},
  resume?: TrainCheckpoint,
): Promise<SftResult> {
  validate(config);
  const now = hooks.now ?? (() => performance.now());
  const order = new DataOrder(train.length, config.seed, resume?.cursor);
  let step = resume?.step ?? 0;
  if (resume) await backend.restore(resume.adapter, resume.optimizer);

  const runEval = async () => {
    if (!evalSet?.length) return;
    const { loss, tokens } = await evaluate(backend, evalSet, config.batchSize);
    await hooks.onEval?.({ step, eval_loss: loss, eval_perplexity: Math.exp(loss), eval_tokens: tokens });
  };
  const checkpoint = async () => {
    if (!hooks.onCheckpoint) return;
    const [adapter, optimizer] = await Promise.all([backend.snapshot(), backend.optimizerState()]);
    await hooks.onCheckpoint({ step, cursor: order.state, adapter, optimizer });
  };

  if (!resume && config.evalEvery > 0) await runEval();
  while (step < config.steps) {
    if (hooks.signal?.aborted) {
      await checkpoint();
      return { step, stopped: true };
    }
    const started = now();
    const micro: TrainBatch[] = [];
    for (let g = 0; g < config.gradAccum; g++) micro.push(toTrainBatch(order.take(config.batchSize).map((i) => train[i])));
    const denominator = micro.reduce((n, b) => n + trainedTokens(b), 0);
    const lr = lrAt({ name: config.scheduler, lr: config.lr, warmupSteps: config.warmupSteps, totalSteps: config.steps }, step);
    const { loss, gradNorm } = await backend.trainStep(micro, {
      lr,
      beta1: config.beta1,
      beta2: config.beta2,
      eps: config.eps,
      weightDecay: config.weightDecay,
      maxGradNorm: config.maxGradNorm,
    });
    step++;
    const tokens = micro.reduce((n, b) => n + batchTokens(b), 0);
    const seconds = Math.max(1e-9, (now() - started) / 1000);
    await hooks.onStep?.({
      step,
      loss,
      lr,
      grad_norm: gradNorm,
      tokens,
      trained_tokens: denominator,
      tokens_per_s: tokens / seconds,
      epoch: order.consumed / train.length,
    });
    if (config.evalEvery > 0 && step % config.evalEvery === 0) await runEval();
    if (config.saveEvery > 0 && step % config.saveEvery === 0 && step < config.steps) await checkpoint();
  }
  if (config.evalEvery > 0 && step % config.evalEvery !== 0) await runEval();
  await checkpoint();
  return { step, stopped: false };
}
