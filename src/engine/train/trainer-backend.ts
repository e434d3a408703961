// What the SFT loop needs from whoever computes: the GPU trainer in the product, the float64 CPU reference
// in tests. Gradients accumulate across micro-batches until optimizerStep() applies and clears them.

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
   * Forward and backward of one micro-batch; adds d(loss)/d(LoRA) to the gradients, where this
   * micro-batch's loss = (sum of its tokens' cross-entropy) / denominator. `step` (1-based optimizer step)
   * seeds LoRA dropout. Returns that loss.
   */
  accumulate(batch: TrainBatch, denominator: number, step: number): Promise<number>;
  /** Clips, applies AdamW at hyper.lr, clears the gradients; returns the gradient norm before clipping. */
  optimizerStep(hyper: OptimizerHyper): Promise<number>;
  /** Summed cross-entropy and trained-token count of a batch, adapter on, no gradients. */
  evalLoss(batch: TrainBatch): Promise<{ sum: number; count: number }>;
  /** A copy of the current adapter. */
  snapshot(): Promise<LoraAdapter>;
  optimizerState(): Promise<OptimizerState>;
  /** Replaces the adapter's A, B and the optimizer state (resume). */
  restore(adapter: LoraAdapter, state: OptimizerState): Promise<void>;
}
