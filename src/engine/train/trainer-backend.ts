// What the training loop needs from whoever computes: the GPU trainer in the product, the float64 CPU
// reference in tests and `--backend cpu`. One optimizer step is one call, so the GPU records it as one
// submit per micro-batch with the optimizer in the last one (one submit per step without accumulation).
// The backend computes the model's side (token log-probabilities and the chain from each token's gradient
// to the LoRA parameters); the objective (objective.ts) owns the loss.

import type { LoraAdapter } from '../lora/adapter';
import type { AdamWHyper } from '../ops/cpu/adamw';
import type { TokenLogps, TrainingObjective } from './objective';
import type { LoraGrads, TrainBatch } from './train-batch';

export interface OptimizerHyper extends AdamWHyper {
  /** Clip the global gradient norm to this; 0 disables. */
  maxGradNorm: number;
}

/** AdamW moments over the LoRA parameters, aligned with adapter.modules. */
export interface OptimizerState {
  /** Updates applied so far (AdamW's bias-correction t). */
  step: number;
  m: LoraGrads<Float32Array>[];
  v: LoraGrads<Float32Array>[];
}

/** One micro-batch's token log-probabilities under the policy, and the reference's when computed in the step. */
export interface MicroBatchLogps {
  policy: TokenLogps;
  reference?: TokenLogps;
}

/** Which weights score a batch: the adapter as trained, or the frozen reference (adapter off, or the initial adapter). */
export type ScoringModel = 'policy' | 'reference';

export interface ScoringOptions {
  /** log softmax(logits / temperature); default 1 (TrainingObjective.logitTemperature). */
  temperature?: number;
}

export interface TrainerBackend {
  /**
   * One optimizer step over micro-batches (gradient accumulation): the gradients of the objective's loss,
   * normalised by `totals` over all of them, accumulate; they are clipped, AdamW applies hyper.lr, and they
   * are cleared. The reference's log-probabilities are computed in the step when the objective needs them
   * and a micro-batch does not carry them (TrainBatch.reference). Returns each micro-batch's log-probabilities
   * (before the update) and the gradient norm before clipping.
   */
  trainStep<T>(microBatches: readonly TrainBatch[], objective: TrainingObjective<unknown, T>, totals: T, hyper: OptimizerHyper): Promise<{ logps: MicroBatchLogps[]; gradNorm: number }>;
  /** Token log-probabilities of a batch (no gradients, no dropout), at a logit temperature (default 1). */
  logProbs(batch: TrainBatch, model: ScoringModel, options?: ScoringOptions): Promise<TokenLogps>;
  /** A copy of the current adapter. */
  snapshot(): Promise<LoraAdapter>;
  optimizerState(): Promise<OptimizerState>;
  /** Replaces the adapter's A, B and the optimizer state (resume). */
  restore(adapter: LoraAdapter, state: OptimizerState): Promise<void>;
}
