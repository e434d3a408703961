// The frozen base model for the CPU training reference: the CPU model record (src/engine/model/cpu-weights.ts)
// with every weight converted to float64 ONCE, so a finite-difference gradient check perturbs nothing but the
// LoRA parameters and sees exact f64 arithmetic.

import type { ModelConfig } from '../../model/config';
import { readCpuModel, type CpuModel } from '../../model/cpu-weights';
import type { ModelWeights } from '../../model/weights';

export type CpuTrainModel = CpuModel<Float64Array>;

export function buildCpuTrainModel(config: ModelConfig, weights: ModelWeights): CpuTrainModel {
  return readCpuModel(config, weights, (t) => Float64Array.from(t.read()));
}
