// The SFT loop's TrainerBackend on the GPU: a GpuCausalLm (frozen base, f16 or f32), the adapter in one
// GpuLoraAdapter arena and a GpuTrainer. Each optimizer step is one submit per micro-batch, the optimizer
// appended to the last. The same GpuLoraAdapter can be attached to the model for generation (attach()).

import { cloneAdapter, type LoraAdapter } from '../../lora/adapter';
import type { GpuCausalLm } from '../../model/gpu/gpu-model';
import type { TrainBatch } from '../train-batch';
import type { OptimizerHyper, OptimizerState, TrainerBackend } from '../trainer-backend';
import { GpuLoraAdapter } from './gpu-lora';
import { GpuTrainer } from './gpu-train-step';

export interface GpuBackendOptions {
  recompute?: boolean;
  /** Seed of the LoRA dropout masks. */
  seed?: number;
}

export class GpuBackend implements TrainerBackend {
  readonly lora: GpuLoraAdapter;
  private trainer: GpuTrainer;
  /** The adapter's structure (modules, slots); its a / b are refreshed by snapshot(). */
  private readonly layout: LoraAdapter;

  constructor(
    readonly model: GpuCausalLm,
    adapter: LoraAdapter,
    private readonly options: GpuBackendOptions = {},
  ) {
    this.layout = cloneAdapter(adapter);
    this.lora = GpuLoraAdapter.create(model.ctx, adapter);
    this.trainer = GpuTrainer.create(model, this.lora, { recompute: options.recompute, seed: options.seed });
  }

  /** Generation through `model` uses the adapter as trained so far (null detaches it). */
  attach(on: boolean): void {
    this.model.setAdapter(on ? this.lora : null);
  }

  async trainStep(microBatches: readonly TrainBatch[], hyper: OptimizerHyper): Promise<{ loss: number; gradNorm: number }> {
    const r = await this.trainer.trainStep(microBatches, hyper);
    return { loss: r.loss, gradNorm: r.gradNorm };
  }

  async evalLoss(batch: TrainBatch): Promise<{ sum: number; count: number }> {
    const r = await this.trainer.evaluate(batch);
    return { sum: r.lossSum, count: r.trainedTokens };
  }

  async snapshot(): Promise<LoraAdapter> {
    const copy = cloneAdapter(this.layout);
    await this.lora.download(copy);
    return copy;
  }

  async optimizerState(): Promise<OptimizerState> {
    const { m, v } = await this.lora.readOptimizerState();
    return { step: this.trainer.step, m, v };
  }

  async restore(adapter: LoraAdapter, state: OptimizerState): Promise<void> {
    this.lora.upload(adapter);
    this.lora.writeOptimizerState(state.m, state.v);
    // The trainer counts optimizer steps (AdamW's t, dropout masks): start it where the checkpoint stopped.
    this.trainer.dispose();
    this.trainer = GpuTrainer.create(this.model, this.lora, { recompute: this.options.recompute, seed: this.options.seed, startStep: state.step });
  }

  dispose(): void {
    if (this.model.adapter === this.lora) this.model.setAdapter(null);
    this.trainer.dispose();
    this.lora.dispose();
  }
}
