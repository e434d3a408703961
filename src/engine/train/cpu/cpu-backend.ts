// A TrainerBackend on the float64 CPU reference (`tunelab train --backend cpu`): slow and exact. The loop's
// logic (batching, accumulation, schedules, checkpoints, resume) and every objective are tested on it
// without a GPU. The frozen reference (DPO) is the base alone, or base + the run's initial adapter.

import type { LoraAdapter } from '../../lora/adapter';
import type { TokenLogps, TrainingObjective } from '../objective';
import type { LoraGrads, TrainBatch } from '../train-batch';
import type { MicroBatchLogps, OptimizerHyper, OptimizerState, ScoringModel, ScoringOptions, TrainerBackend } from '../trainer-backend';
import { cpuObjectiveLossAndGrads, cpuTokenLogps } from './cpu-lora-backward';
import { float32Adapter, float64Adapter, type CpuLoraAdapter } from './cpu-lora-adapter';
import type { CpuTrainModel } from './cpu-train-model';
import { cpuAdamWStep, zeroAdamWState, type CpuAdamWState } from './cpu-train-step';

export class CpuBackend implements TrainerBackend {
  private adapter: CpuLoraAdapter<Float64Array>;
  private readonly reference: CpuLoraAdapter<Float64Array> | null;
  private state: CpuAdamWState;

  constructor(
    private readonly model: CpuTrainModel,
    adapter: LoraAdapter,
    options: { reference?: LoraAdapter } = {},
  ) {
    this.adapter = float64Adapter(adapter);
    this.reference = options.reference ? float64Adapter(options.reference) : null;
    this.state = zeroAdamWState(this.adapter);
  }

  async trainStep<T>(microBatches: readonly TrainBatch[], objective: TrainingObjective<unknown, T>, totals: T, hyper: OptimizerHyper): Promise<{ logps: MicroBatchLogps[]; gradNorm: number }> {
    const grads: LoraGrads<Float64Array>[] = this.adapter.modules.map((m) => ({ a: new Float64Array(m.a.length), b: new Float64Array(m.b.length) }));
    const logps: MicroBatchLogps[] = [];
    for (const batch of microBatches) {
      const r = cpuObjectiveLossAndGrads(this.model, this.adapter, { batch, objective, totals }, { reference: this.reference });
      logps.push(r.reference ? { policy: r.logps, reference: r.reference } : { policy: r.logps });
      r.grads.forEach((g, i) => {
        g.a.forEach((x, j) => (grads[i].a[j] += x));
        g.b.forEach((x, j) => (grads[i].b[j] += x));
      });
    }
    return { logps, gradNorm: cpuAdamWStep(this.adapter, grads, this.state, hyper) };
  }

  async logProbs(batch: TrainBatch, model: ScoringModel, options: ScoringOptions = {}): Promise<TokenLogps> {
    return cpuTokenLogps(this.model, model === 'policy' ? this.adapter : this.reference, batch, { temperature: options.temperature });
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
  }
}
