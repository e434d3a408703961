// What the SFT loop needs from whoever computes: the GPU trainer in the product, the float64 CPU reference
// in tests. One optimizer step is one call, so the GPU records it as one submit per micro-batch with the
// optimizer in the last one (one submit per step without gradient accumulation).

import type { LoraAdapter } from '../lora/adapter';
import type { AdamWHyper } from '../ops/cpu/adamw';
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

export interface TrainerBackend {
  /**
   * One optimizer step over micro-batches (gradient accumulation): the loss is the mean token
   * cross-entropy over all their trained tokens; the gradients are clipped, AdamW applies hyper.lr, and the
   * gradients are cleared. Returns that loss and the gradient norm before clipping.
   */
  trainStep(microBatches: readonly TrainBatch[], hyper: OptimizerHyper): Promise<{ loss: number; gradNorm: number }>;
  /** Summed cross-entropy and trained-token count of a batch, adapter on, no gradients. */
  evalLoss(batch: TrainBatch): Promise<{ sum: number; count: number }>;
  /** A copy of the current adapter. */
  snapshot(): Promise<LoraAdapter>;
  optimizerState(): Promise<OptimizerState>;
  /** Replaces the adapter's A, B and the optimizer state (resume). */
  restore(adapter: LoraAdapter, state: OptimizerState): Promise<void>;
}
