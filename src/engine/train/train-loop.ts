// The training loop of every objective: for each optimizer step, take batchSize x gradAccum examples in
// seeded order, let the backend accumulate the objective's gradients micro-batch by micro-batch (the loss
// normalised by totals over the whole accumulated step), clip and apply AdamW at the scheduled learning
// rate; then the objective turns the step's token log-probabilities into the logged loss and metrics.
// Held-out evaluation every evalEvery steps (and before the first step of a fresh run), checkpoints every
// saveEvery steps; metrics and checkpoints leave through hooks, so the CLI writes files and the studio
// writes IndexedDB. A non-finite loss or gradient norm stops the run at that step, before anything of the
// step is saved. When the device runs out of memory for the reference's pass in the step (DPO), the
// reference is precomputed instead and the step trained again: the precompute is what short memory needs.

import type { TrainCheckpoint } from './checkpoint';
import { DataOrder } from './data-order';
import { GpuOutOfMemoryError } from '../gpu/errors';
import { NonFiniteTrainingError } from './errors';
import { mergeBatches, type EvalFields, type TokenLogps, type TrainingObjective } from './objective';
import { precomputeReference, withReference, type ReferenceSums } from './reference-cache';
import { lrAt, validateSchedule, type SchedulerName } from './schedule';
import { batchTokens, trainedTokens, type TrainBatch } from './train-batch';
import type { TrainerBackend } from './trainer-backend';

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

function validate(c: LoopConfig): void {
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

/** The policy's (and, when computed in the step, the reference's) token log-probabilities of a batch. */
async function batchLogps<E, T>(backend: TrainerBackend, objective: TrainingObjective<E, T>, batch: TrainBatch) {
  const policy = await backend.logProbs(batch, 'policy');
  const reference = objective.needsReference && !batch.reference ? await backend.logProbs(batch, 'reference') : undefined;
  return { policy, reference };
}

/** The objective's loss and metrics over a held-out set, in micro-batches of batchSize examples. */
export async function evaluateSet<E, T>(
  backend: TrainerBackend,
  objective: TrainingObjective<E, T>,
  examples: readonly E[],
  batchSize: number,
  reference?: ReferenceSums,
): Promise<EvalFields> {
  if (examples.length === 0) throw new RangeError('the evaluation set is empty');
  const batches: TrainBatch[] = [];
  const policy: TokenLogps = [];
  const refs: TokenLogps = [];
  for (let i = 0; i < examples.length; i += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, examples.length - i) }, (_, k) => i + k);
    const batch = withReference(objective.batch(indices.map((k) => examples[k])), reference, indices);
    const logps = await batchLogps(backend, objective, batch);
    batches.push(batch);
    policy.push(...logps.policy);
    if (logps.reference) refs.push(...logps.reference);
  }
  const merged = mergeBatches(batches);
  const result = objective.evaluate({ batch: merged, policy, reference: refs.length ? refs : undefined }, objective.totals(batches));
  return objective.evalFields(result, merged);
}

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
  validate(config);
  const now = hooks.now ?? (() => performance.now());
  const order = new DataOrder(train.length, config.seed, resume?.cursor);
  let step = resume?.step ?? 0;
  let lastCheckpoint = resume?.step ?? 0;
  if (resume) await backend.restore(resume.adapter, resume.optimizer);

  // The reference never changes: its log-probabilities can be computed once (before the first update, or
  // again on resume: the reference is the frozen starting point, not the resumed adapter).
  let trainRefs: ReferenceSums | undefined;
  let evalRefs: ReferenceSums | undefined;
  const precomputeAll = async () => {
    const progress = hooks.onReferenceProgress;
    const total = train.length + (evalSet?.length ?? 0);
    trainRefs = await precomputeReference(backend, objective, train, config.batchSize, progress && ((d) => progress(d, total)));
    if (evalSet?.length) evalRefs = await precomputeReference(backend, objective, evalSet, config.batchSize, progress && ((d) => progress(train.length + d, total)));
  };
  if (options.precomputeReference && objective.needsReference) await precomputeAll();

  const runEval = async () => {
    if (!evalSet?.length) return;
    const fields = await evaluateSet(backend, objective, evalSet, config.batchSize, evalRefs);
    await hooks.onEval?.({ step, ...fields });
  };
  const checkpoint = async () => {
    if (!hooks.onCheckpoint) return;
    const [adapter, optimizer] = await Promise.all([backend.snapshot(), backend.optimizerState()]);
    await hooks.onCheckpoint({ step, cursor: order.state, adapter, optimizer });
    lastCheckpoint = step;
  };

  if (!resume && config.evalEvery > 0) await runEval();
  while (step < config.steps) {
    if (hooks.signal?.aborted) {
      await checkpoint();
      return { step, stopped: true };
    }
    const started = now();
    const indices = Array.from({ length: config.gradAccum }, () => order.take(config.batchSize));
    const microOf = () => indices.map((ids) => withReference(objective.batch(ids.map((i) => train[i])), trainRefs, ids));
    let micro = microOf();
    const totals = objective.totals(micro);
    const lr = lrAt({ name: config.scheduler, lr: config.lr, warmupSteps: config.warmupSteps, totalSteps: config.steps }, step);
    const hyper = { lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm };
    let trained: Awaited<ReturnType<TrainerBackend['trainStep']>>;
    try {
      trained = await backend.trainStep(micro, objective, totals, hyper);
    } catch (err) {
      // Memory is short for the reference's pass in the step: score the reference once, then train without it.
      if (!(err instanceof GpuOutOfMemoryError) || !objective.needsReference || trainRefs) throw err;
      await hooks.onReferenceFallback?.(err.message);
      await precomputeAll();
      micro = microOf();
      trained = await backend.trainStep(micro, objective, totals, hyper);
    }
    const { logps, gradNorm } = trained;
    const merged = mergeBatches(micro);
    const hasRef = logps.every((l) => l.reference);
    const { loss, metrics } = objective.evaluate(
      { batch: merged, policy: logps.flatMap((l) => l.policy), reference: hasRef ? logps.flatMap((l) => l.reference!) : undefined },
      totals,
    );
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new NonFiniteTrainingError(step + 1, Number.isFinite(loss) ? { what: 'gradient norm', value: gradNorm } : { what: 'loss', value: loss }, lastCheckpoint);
    }
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
      epoch: order.consumed / train.length,
      objective: metrics,
    });
    if (config.evalEvery > 0 && step % config.evalEvery === 0) await runEval();
    if (config.saveEvery > 0 && step % config.saveEvery === 0 && step < config.steps) await checkpoint();
  }
  if (config.evalEvery > 0 && step % config.evalEvery !== 0) await runEval();
  await checkpoint();
  return { step, stopped: false };
}
