// Starting values of the Train page's settings for a loaded model, and the arithmetic that turns epochs
// into optimizer steps. Pure functions: the form state applies them, tests check them.

import type { ModelConfig } from '../engine/model/config';
import type { SchedulerName } from '../engine/train/schedule';

/** Every number the Train page asks for (the form's fields, before they become RunSettings). */
export interface TrainValues {
  targets: string[];
  r: number;
  alpha: number;
  dropout: number;
  useRslora: boolean;
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  maxGradNorm: number;
  scheduler: SchedulerName;
  warmupSteps: number;
  batchSize: number;
  gradAccum: number;
  maxLength: number;
  /** Length of the run: optimizer steps, or passes over the training split. */
  duration: 'steps' | 'epochs';
  steps: number;
  epochs: number;
  evalEvery: number;
  checkpointEvery: number;
  seed: number;
  completionOnly: boolean;
}

/** Longest default sequence: longer ones cost memory quadratically in attention and rarely help a first run. */
export const MAX_DEFAULT_LENGTH = 512;

/** The methods the Train page offers. */
export type TrainMethod = 'sft' | 'dpo' | 'simpo' | 'orpo' | 'grpo';

/** DPO, SimPO and ORPO: they train on preference pairs (two sequences per example). */
export function isPreferenceMethod(method: TrainMethod): method is 'dpo' | 'simpo' | 'orpo' {
  return method === 'dpo' || method === 'simpo' || method === 'orpo';
}

/**
 * Peak learning rate by model size and method. SFT: LoRA on a 100M+ model trains well at 2e-4 (the PEFT
 * examples' value); tiny models (a few million parameters or less) need about ten times that to move in a
 * few hundred steps. DPO, SimPO and ORPO: half that. A preference loss keeps falling by pushing the rejected
 * answer down, and large steps degrade the text, so TRL's example scripts train them with LoRA at 5e-6
 * (40 times below their LoRA SFT's 2e-4) over thousands of steps on 0.5B+ models; a studio run is a few
 * hundred steps, where such a rate barely moves the adapter (stories260K, DPO, batch 4 pairs: held-out
 * accuracy 78% after 40 steps at 5e-4, 89% after 20 at 2e-3, with no collapse). Half the SFT rate keeps
 * preference steps more cautious than SFT's and still learns within a run.
 */
export function defaultLearningRate(parameters: number, method: TrainMethod = 'sft'): number {
  const sft = parameters < 10e6 ? 2e-3 : parameters < 100e6 ? 5e-4 : 2e-4;
  return isPreferenceMethod(method) ? sft / 2 : sft;
}

/** The attention query and value projections (the LoRA paper's choice), by architecture. */
export function defaultTargets(config: Pick<ModelConfig, 'architecture'>): string[] {
  return config.architecture === 'gpt2' ? ['c_attn'] : ['q_proj', 'v_proj'];
}

export function defaultValues(config: Pick<ModelConfig, 'architecture' | 'maxPositions'>, parameters: number): TrainValues {
  return {
    targets: defaultTargets(config),
    r: 8,
    alpha: 16,
    dropout: 0,
    useRslora: false,
    lr: defaultLearningRate(parameters),
    weightDecay: 0,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    maxGradNorm: 1,
    scheduler: 'linear',
    warmupSteps: 0,
    batchSize: 8,
    gradAccum: 1,
    maxLength: Math.min(config.maxPositions, MAX_DEFAULT_LENGTH),
    duration: 'epochs',
    steps: 100,
    epochs: 1,
    evalEvery: 10,
    checkpointEvery: 20,
    seed: 0,
    completionOnly: true,
  };
}

/** Examples held out for evaluation, as the split rule does it: `fraction` of them, at least one (none at 0). */
export function heldOutCount(examples: number, evalFraction: number): number {
  if (evalFraction <= 0) return 0;
  return Math.max(1, Math.round(evalFraction * examples));
}

/** Optimizer steps for `epochs` passes over `trainExamples` at batchSize x gradAccum examples per step (at least 1). */
export function stepsForEpochs(epochs: number, trainExamples: number, batchSize: number, gradAccum: number): number {
  return Math.max(1, Math.ceil((epochs * trainExamples) / (batchSize * gradAccum)));
}
