// Timing of one training step as the training loop's GpuBackend runs it: one GpuTrainer.submitMicroBatch
// with the optimizer in the same submit, then the readback. The step is split into record (JavaScript:
// packing, recording every dispatch, input writes), submit (StepEncoder.submit until queue.submit returns)
// and wait (its error scopes' answer, then the device until the row losses and the gradient norm are back)
// by wrapping the context's step() while a StepWatch is installed. Every objective of the training bench is
// timed by this one function.

import type { GpuContext } from '../../src/engine/gpu/context';
import { DispatchTimer, type KernelTime } from '../../src/engine/gpu/dispatch-timer';
import type { StepEncoder } from '../../src/engine/gpu/step-encoder';
import type { GpuGradientRule } from '../../src/engine/train/objective';
import type { GpuTrainer, MicroBatchResult, OptimizerHyper } from '../../src/engine/train/gpu/gpu-train-step';
import type { TrainBatch } from '../../src/engine/train/train-batch';
import { now } from './measure';
import type { StepBreakdown } from './types';

/** Times spent in StepEncoder.submit() and dispatches recorded, for every step created while installed. */
export class StepWatch {
  submitS = 0;
  submitEndedAt = 0;
  dispatches = 0;
  /** The most bytes the buffer pool had handed out (the step's temporaries) at any submit since reset(). */
  liveBytes = 0;
  /** While true, every step made gets a DispatchTimer (one pass per dispatch, timestamps). */
  profile = false;
  readonly timers: DispatchTimer[] = [];

  constructor(private readonly ctx: GpuContext) {}

  install(): () => void {
    const ctx = this.ctx;
    const original = ctx.step;
    ctx.step = (): StepEncoder => {
      const step = original.call(ctx);
      if (this.profile) {
        step.timer = new DispatchTimer(ctx);
        this.timers.push(step.timer);
      }
      const dispatch = step.dispatch.bind(step);
      step.dispatch = (...args) => {
        this.dispatches++;
        dispatch(...args);
      };
      const submit = step.submit.bind(step);
      step.submit = async () => {
        this.liveBytes = Math.max(this.liveBytes, ctx.pool.stats().liveBytes);
        const t = now();
        try {
          await submit();
        } finally {
          // The CPU's part ends when queue.submit returns; awaiting the error scopes after it waits on the
          // device (on a software adapter, on the cores now running the step) and counts as waiting.
          this.submitEndedAt = step.queuedAt ? step.queuedAt / 1000 : now();
          this.submitS += this.submitEndedAt - t;
        }
      };
      return step;
    };
    return () => {
      ctx.step = original;
    };
  }

  reset(): void {
    this.submitS = 0;
    this.submitEndedAt = 0;
    this.dispatches = 0;
    this.liveBytes = 0;
    this.timers.length = 0;
  }
}

/** What one step submits: its micro-batch, the objective's GPU gradient rule, and whether the reference runs. */
export interface StepInput {
  batch: TrainBatch;
  rule: GpuGradientRule;
  referencePass: boolean;
}

export interface StepSample {
  totalS: number;
  breakdown: StepBreakdown;
  dispatches: number;
  /** Bytes of the step's pooled temporaries at its submit (StepWatch.liveBytes). */
  liveBytes: number;
  /** What was read back (row losses, the reference's when its pass ran, the gradient norm). */
  result: MicroBatchResult;
}

/** One optimizer step over one micro-batch, split into its phases. */
export async function timedStep(trainer: GpuTrainer, watch: StepWatch, input: StepInput, optimizer: OptimizerHyper): Promise<StepSample> {
  watch.reset();
  const t0 = now();
  const { result } = await trainer.submitMicroBatch(input.batch, input.rule, { optimizer, referencePass: input.referencePass });
  const submitted = now();
  const r = await result;
  const t1 = now();
  if (!r.optimizer) throw new Error('the optimizer step did not run');
  if (!Number.isFinite(r.optimizer.gradNorm)) throw new Error(`step ${r.optimizer.step}: gradient norm ${r.optimizer.gradNorm} (not finite)`);
  const submitS = watch.submitS;
  // The submit ends inside submitMicroBatch; what follows it (until the readback) is waiting.
  const submitEnded = watch.submitEndedAt || submitted;
  return {
    totalS: t1 - t0,
    breakdown: { recordS: Math.max(0, submitEnded - t0 - submitS), submitS, waitS: t1 - submitEnded },
    dispatches: watch.dispatches,
    liveBytes: watch.liveBytes,
    result: r,
  };
}

/** GPU time per kernel of one step (a step of its own, not timed: one pass per dispatch costs extra). */
export async function profiledStep(trainer: GpuTrainer, watch: StepWatch, input: StepInput, optimizer: OptimizerHyper): Promise<KernelTime[]> {
  watch.reset();
  watch.profile = true;
  try {
    const { result } = await trainer.submitMicroBatch(input.batch, input.rule, { optimizer, referencePass: input.referencePass });
    await result;
  } finally {
    watch.profile = false;
  }
  const merged = new Map<string, KernelTime>();
  for (const timer of watch.timers) {
    for (const t of await timer.times()) {
      const m = merged.get(t.label) ?? { label: t.label, dispatches: 0, ns: 0 };
      m.dispatches += t.dispatches;
      m.ns += t.ns;
      merged.set(t.label, m);
    }
  }
  return [...merged.values()].sort((a, b) => b.ns - a.ns);
}
