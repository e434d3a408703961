// The float64 reference of LoRA training steps: loss and gradients from cpu-lora-backward.ts, torch's
// clip_grad_norm_ over all LoRA parameters together (max_grad_norm 0 disables), then torch's AdamW on every
// A and B (src/engine/ops/cpu/adamw.ts), with a constant learning rate. The GPU trainer is checked against it.

import { adamwUpdate, clipCoefficient, globalGradNorm, type AdamWHyper } from '../../ops/cpu/adamw';
import type { TrainingObjective } from '../objective';
import type { LoraGrads, TrainBatch } from '../train-batch';
import { cpuLoraLossAndGrads, cpuObjectiveLossAndGrads, type DropoutMasks } from './cpu-lora-backward';
import { float64Adapter, type CpuLoraAdapter } from './cpu-lora-adapter';
import type { CpuTrainModel } from './cpu-train-model';

export interface CpuTrainHyper extends AdamWHyper {
  /** Clip the global gradient norm to this; 0 disables clipping. */
  maxGradNorm: number;
}

/** AdamW's state over the LoRA parameters, aligned with adapter.modules. */
export interface CpuAdamWState {
  /** Optimizer steps taken. */
  step: number;
  /** First moments of A and B. */
  m: LoraGrads<Float64Array>[];
  /** Second moments of A and B. */
  v: LoraGrads<Float64Array>[];
}

export interface CpuTrainResult {
  /** The adapter after the steps (float64; the input adapter is untouched). */
  adapter: CpuLoraAdapter<Float64Array>;
  /** losses[i]: the loss of step i + 1, computed before its update (what metrics.jsonl logs). */
  losses: number[];
  /** gradNorms[i]: the global gradient norm of step i + 1 before clipping. */
  gradNorms: number[];
  optimizer: CpuAdamWState;
}

export function zeroAdamWState(adapter: CpuLoraAdapter): CpuAdamWState {
  const zeros = () => adapter.modules.map((m) => ({ a: new Float64Array(m.a.length), b: new Float64Array(m.b.length) }));
  return { step: 0, m: zeros(), v: zeros() };
}

/**
 * One optimizer update in place on the adapter's A and B and on `state`: clip by global norm, then AdamW.
 * Returns the gradient norm before clipping.
 */
export function cpuAdamWStep(adapter: CpuLoraAdapter<Float64Array>, grads: readonly LoraGrads<Float64Array>[], state: CpuAdamWState, hyper: CpuTrainHyper): number {
  if (grads.length !== adapter.modules.length) throw new RangeError(`${grads.length} gradients for ${adapter.modules.length} LoRA modules`);
  const norm = globalGradNorm(grads.flatMap((g) => [g.a, g.b]));
  const clipCoef = clipCoefficient(norm, hyper.maxGradNorm);
  state.step++;
  adapter.modules.forEach((m, i) => {
    adamwUpdate(m.a, grads[i].a, state.m[i].a, state.v[i].a, hyper, state.step, { clipCoef });
    adamwUpdate(m.b, grads[i].b, state.m[i].b, state.v[i].b, hyper, state.step, { clipCoef });
  });
  return norm;
}

/**
 * K training steps on the same batch from `adapter` (copied to float64), each: loss and gradients (mean over
 * the batch's trained tokens), clipping, AdamW at the constant hyper.lr. dropoutMasks, when the adapter
 * has dropout, gives the masks of step (1-based), sequence and module.
 */
export function cpuTrainSteps(
  model: CpuTrainModel,
  adapter: CpuLoraAdapter,
  batch: TrainBatch,
  hyper: CpuTrainHyper,
  K: number,
  options: { dropoutMasks?: (step: number, sequence: number, module: number) => Float64Array } = {},
): CpuTrainResult {
  if (!Number.isInteger(K) || K < 0) throw new RangeError(`the number of steps must be a non-negative integer, got ${K}`);
  const trained = float64Adapter(adapter);
  const optimizer = zeroAdamWState(trained);
  const losses: number[] = [];
  const gradNorms: number[] = [];
  for (let step = 1; step <= K; step++) {
    const masks = options.dropoutMasks;
    const dropoutMasks: DropoutMasks | undefined = masks && ((sequence, module) => masks(step, sequence, module));
    const { loss, grads } = cpuLoraLossAndGrads(model, trained, batch, { dropoutMasks });
    losses.push(loss);
    gradNorms.push(cpuAdamWStep(trained, grads, optimizer, hyper));
  }
  return { adapter: trained, losses, gradNorms, optimizer };
}

export interface CpuObjectiveStepsResult extends CpuTrainResult {
  /** metrics[i]: the objective's metrics at step i + 1 (before its update). */
  metrics: Record<string, number>[];
}

/**
 * K steps of any objective on the same batch (one micro-batch per step), from `adapter` (copied to float64),
 * with the frozen `reference` (null: the base model) when the objective reads one.
 */
export function cpuObjectiveSteps<T>(
  model: CpuTrainModel,
  adapter: CpuLoraAdapter,
  batch: TrainBatch,
  objective: TrainingObjective<unknown, T>,
  hyper: CpuTrainHyper,
  K: number,
  reference: CpuLoraAdapter | null = null,
): CpuObjectiveStepsResult {
  if (!Number.isInteger(K) || K < 0) throw new RangeError(`the number of steps must be a non-negative integer, got ${K}`);
  const trained = float64Adapter(adapter);
  const frozen = reference && float64Adapter(reference);
  const optimizer = zeroAdamWState(trained);
  const totals = objective.totals([batch]);
  const out: CpuObjectiveStepsResult = { adapter: trained, losses: [], gradNorms: [], optimizer, metrics: [] };
  for (let step = 1; step <= K; step++) {
    const { result, grads } = cpuObjectiveLossAndGrads(model, trained, { batch, objective, totals }, { reference: frozen });
    out.losses.push(result.loss);
    out.metrics.push(result.metrics);
    out.gradNorms.push(cpuAdamWStep(trained, grads, optimizer, hyper));
  }
  return out;
}
