// A TrainerBackend on the float64 CPU reference (`tunelab train --backend cpu`): slow and exact. The SFT
// loop's logic (batching, accumulation, schedules, checkpoints, resume) is tested on it without a GPU.

import type { LoraAdapter } from '../../lora/adapter';
import { cpuLoraLoss, cpuLoraLossAndGrads } from './cpu-lora-backward';
import { float32Adapter, float64Adapter, type CpuLoraAdapter } from './cpu-lora-adapter';
import type { CpuTrainModel } from './cpu-train-model';
import { cpuAdamWStep, zeroAdamWState, type CpuAdamWState } from './cpu-train-step';
import { trainedTokens, type LoraGrads, type TrainBatch } from '../train-batch';
import type { OptimizerHyper, OptimizerState, TrainerBackend } from '../trainer-backend';

export class CpuBackend implements TrainerBackend {
  private adapter: CpuLoraAdapter<Float64Array>;
  private state: CpuAdamWState;
  private grads: LoraGrads<Float64Array>[];

  constructor(
    private readonly model: CpuTrainModel,
    adapter: LoraAdapter,
  ) {
    this.adapter = float64Adapter(adapter);
    this.state = zeroAdamWState(this.adapter);
    this.grads = this.zeroGrads();
  }

  private zeroGrads(): LoraGrads<Float64Array>[] {
    return this.adapter.modules.map((m) => ({ a: new Float64Array(m.a.length), b: new Float64Array(m.b.length) }));
  }

  async trainStep(microBatches: readonly TrainBatch[], hyper: OptimizerHyper): Promise<{ loss: number; gradNorm: number }> {
    const denominator = microBatches.reduce((n, b) => n + trainedTokens(b), 0);
    let loss = 0;
    for (const batch of microBatches) {
      const r = cpuLoraLossAndGrads(this.model, this.adapter, batch, { denominator });
      loss += r.loss;
      r.grads.forEach((g, i) => {
        g.a.forEach((x, j) => (this.grads[i].a[j] += x));
        g.b.forEach((x, j) => (this.grads[i].b[j] += x));
      });
    }
    const gradNorm = cpuAdamWStep(this.adapter, this.grads, this.state, hyper);
    this.grads = this.zeroGrads();
    return { loss, gradNorm };
  }

  async evalLoss(batch: TrainBatch): Promise<{ sum: number; count: number }> {
    // The forward alone: with denominator 1 the loss is the summed token cross-entropy.
    return { sum: cpuLoraLoss(this.model, this.adapter, batch, { denominator: 1 }), count: trainedTokens(batch) };
  }

  async snapshot(): Promise<LoraAdapter> {
    return float32Adapter(this.adapter);
  }

  async optimizerState(): Promise<OptimizerState> {
    const f32 = (g: LoraGrads<Float64Array>) => ({ a: Float32Array.from(g.a), b: Float32Array.from(g.b) });
    return { step: this.state.step, m: this.state.m.map(f32), v: this.state.v.map(f32) };
  }

  async restore(adapter: LoraAdapter, state: OptimizerState): Promise<void> {
    this.adapter = float64Adapter(adapter);
    const f64 = (g: LoraGrads<Float32Array>) => ({ a: Float64Array.from(g.a), b: Float64Array.from(g.b) });
    this.state = { step: state.step, m: state.m.map(f64), v: state.v.map(f64) };
    this.grads = this.zeroGrads();
  }
}
