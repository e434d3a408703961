// What the training loop trains on, step by step: the micro-batches of the next optimizer step, where the
// data stands (for checkpoints) and how held-out data is evaluated. Dataset objectives (SFT, DPO, ...) read
// examples in seeded order (dataset-feed.ts); GRPO samples completions from the policy and scores them
// (grpo/rollout-feed.ts). The loop itself (train-loop.ts) is the same for both.

import type { DataCursor } from './data-order';
import type { EvalFields } from './objective';
import type { TrainBatch } from './train-batch';

export interface FedStep {
  micro: TrainBatch[];
  /** How the step's data was made (GRPO: rewards, completion lengths, entropy), under TRL's names. */
  metrics?: Record<string, number>;
}

export interface StepFeed {
  /** Before the first step (a precomputed reference). */
  prepare?(): Promise<void>;
  /** The next optimizer step's micro-batches; the feed's position moves only when this resolves. */
  next(signal?: AbortSignal): Promise<FedStep>;
  /** Training `step` failed with `err`: the micro-batches to train instead, or undefined to let it fail. */
  recover?(err: unknown, step: FedStep): Promise<FedStep | undefined>;
  /** The held-out evaluation row, or undefined without held-out data. */
  evaluate?(signal?: AbortSignal): Promise<EvalFields | undefined>;
  /** Where the data order stands. */
  cursor(): DataCursor;
  /** What else a checkpoint must hold to continue exactly (JSON-serialisable), if anything. */
  state?(): unknown;
  /** Fractional epochs consumed. */
  epoch(): number;
}
