// The studio's run settings for the GPU run-session tests: a small SFT run of stories260K (f32 weights, LoRA r
// 4 on q_proj and v_proj, batch 4, linear schedule, seed 5) that the DPO and GRPO tests change to their method.

import type { RunSettings } from '../../src/storage/records';

export function sftRunSettings(steps: number, checkpointEvery: number, evalEvery: number, lr = 2e-3): RunSettings {
  return {
    method: 'sft',
    model: { kind: 'offline', id: 'stories260K' },
    modelName: 'stories260K',
    weightFormat: 'f32',
    datasetId: 'd',
    datasetName: 'stories',
    lora: { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false },
    loop: {
      batchSize: 4,
      gradAccum: 1,
      steps,
      lr,
      scheduler: 'linear',
      warmupSteps: 0,
      maxGradNorm: 1,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      evalEvery,
      saveEvery: checkpointEvery,
      seed: 5,
    },
    maxLength: 64,
    completionOnly: true,
    checkpointEvery,
  };
}
