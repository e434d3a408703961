// The training loop's TrainerBackend on the GPU: a GpuCausalLm (frozen base, f16 or f32), the adapter in one
// GpuLoraAdapter arena and a GpuTrainer. Each optimizer step is one submit per micro-batch, the optimizer
// appended to the last. The frozen reference (DPO) is the same base with the adapter switched off, or base
// + the run's initial adapter uploaded once more as a small LoRA arena: no second copy of the model. The
// same GpuLoraAdapter can be attached to the model for generation (attach()).

import { cloneAdapter, type LoraAdapter } from '../../lora/adapter';
import type { GpuCausalLm } from '../../model/gpu/gpu-model';
import type { TokenLogps, TrainingObjective } from '../objective';
import type { TrainBatch } from '../train-batch';
import type { MicroBatchLogps, OptimizerHyper, OptimizerState, ScoringModel, ScoringOptions, TrainerBackend } from '../trainer-backend';
import { GpuLoraAdapter } from './gpu-lora';
import { GpuTrainer, rowLossesToLogps } from './gpu-train-step';

export interface GpuBackendOptions {
  recompute?: boolean;
  /** Seed of the LoRA dropout masks. */
  seed?: number;
  /** The frozen reference's adapter (DPO after SFT); absent: the base model (the adapter switched off). */
  reference?: LoraAdapter;
}

export class GpuBackend implements TrainerBackend {
  readonly lora: GpuLoraAdapter;
  private readonly referenceLora: GpuLoraAdapter | null;
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
    try {
      this.referenceLora = options.reference ? GpuLoraAdapter.create(model.ctx, options.reference, { inferenceOnly: true }) : null;
    } catch (err) {
      this.lora.dispose();
      throw err;
    }
    this.trainer = this.createTrainer(0);
  }

  /** Generation through `model` uses the adapter as trained so far (null detaches it). */
  attach(on: boolean): void {
    this.model.setAdapter(on ? this.lora : null);
  }

  async trainStep<T>(microBatches: readonly TrainBatch[], objective: TrainingObjective<unknown, T>, totals: T, hyper: OptimizerHyper): Promise<{ logps: MicroBatchLogps[]; gradNorm: number }> {
    const rules = microBatches.map((b) => objective.gpuGradient(b, totals));
    const { results, gradNorm } = await this.trainer.trainStep(microBatches, rules, hyper, objective.needsReference, objective.logitTemperature);
    const logps = results.map((r, i) => {
      const out: MicroBatchLogps = { policy: rowLossesToLogps(microBatches[i], r.rowLoss) };
      if (r.referenceRowLoss) out.reference = rowLossesToLogps(microBatches[i], r.referenceRowLoss);
      return out;
    });
    return { logps, gradNorm };
  }

  async logProbs(batch: TrainBatch, model: ScoringModel, options: ScoringOptions = {}): Promise<TokenLogps> {
    return rowLossesToLogps(batch, await this.trainer.rowLosses(batch, model, options.temperature));
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
    this.trainer = this.createTrainer(state.step);
  }

  dispose(): void {
    if (this.model.adapter === this.lora) this.model.setAdapter(null);
    this.trainer.dispose();
    this.lora.dispose();
    this.referenceLora?.dispose();
  }

  private createTrainer(startStep: number): GpuTrainer {
    return GpuTrainer.create(this.model, this.lora, { recompute: this.options.recompute, seed: this.options.seed, startStep, reference: this.referenceLora });
  }
}
