// The Train page's defaults for a model and its memory estimate for the exact LoRA targets chosen.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelConfig } from '../../src/engine/model/config';
import { estimateMemory } from '../../src/engine/model/memory-estimate';
import { defaultLearningRate, defaultValues, heldOutCount, stepsForEpochs } from '../../src/state/train-defaults';
import { trainMemory, type TrainShape } from '../../src/state/train-memory';
import type { LoadedModelInfo } from '../../src/worker/protocol';
import { STORIES260K_DIR } from '../helpers/tiny-models';

async function storiesInfo(): Promise<LoadedModelInfo> {
  const config = readModelConfig(await readFile(join(STORIES260K_DIR, 'config.json'), 'utf8'), 'config.json');
  return {
    source: 'stories260K',
    config,
    parameters: 260_000,
    fileBytes: 0,
    weightFormat: 'f32',
    hasTokenizer: true,
    hasChatTemplate: false,
    generationDefaults: { temperature: 0, topK: 0, topP: 1 },
    loadMs: 0,
  };
}

const limits = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };

describe('Train page defaults', () => {
  it('takes a larger learning rate for tiny models and caps the length at the context and 512', async () => {
    expect(defaultLearningRate(260_000)).toBe(2e-3);
    expect(defaultLearningRate(135e6)).toBe(2e-4);
    expect(defaultLearningRate(50e6)).toBeGreaterThan(2e-4);
    expect(defaultLearningRate(50e6)).toBeLessThan(2e-3);
    const info = await storiesInfo();
    const v = defaultValues(info.config, info.parameters);
    expect(v.lr).toBe(2e-3);
    expect(v.maxLength).toBe(Math.min(info.config.maxPositions, 512));
    expect(v.targets).toEqual(['q_proj', 'v_proj']);
    expect(defaultValues({ architecture: 'gpt2', maxPositions: 1024 }, 124e6)).toMatchObject({ targets: ['c_attn'], maxLength: 512, lr: 2e-4 });
  });

  it('trains the preference methods at half the SFT rate of the same size', () => {
    for (const parameters of [260_000, 50e6, 135e6]) {
      const sft = defaultLearningRate(parameters);
      expect(defaultLearningRate(parameters, 'sft')).toBe(sft);
      for (const method of ['dpo', 'simpo', 'orpo'] as const) expect(defaultLearningRate(parameters, method)).toBe(sft / 2);
    }
    expect(defaultLearningRate(260_000, 'dpo')).toBe(1e-3);
  });

  it('turns epochs into optimizer steps over the training split', () => {
    // 468 examples at 0.1 held out: 47 held out, 421 to train; 2 epochs at 4 x 2 per step.
    expect(heldOutCount(468, 0.1)).toBe(47);
    expect(heldOutCount(10, 0.01)).toBe(1);
    expect(heldOutCount(10, 0)).toBe(0);
    expect(stepsForEpochs(2, 421, 4, 2)).toBe(Math.ceil(842 / 8));
    expect(stepsForEpochs(0.001, 10, 8, 1)).toBe(1);
  });
});

describe('Train page memory estimate', () => {
  it('counts LoRA parameters for exactly the modules chosen', async () => {
    const info = await storiesInfo();
    const { hiddenSize: C, numHeads: Hq, numKvHeads: Hkv, headDim: D, numLayers: L } = info.config;
    const qv = trainMemory(info, { seqLen: 64, batch: 4, rank: 8, targets: ['q_proj', 'v_proj'], method: 'sft' }, limits);
    if ('error' in qv) throw new Error(qv.error);
    expect(qv.estimate.loraParameters).toBe(L * 8 * (C + Hq * D + C + Hkv * D));
    expect(qv.estimate.gradients).toBe(qv.estimate.lora);
    expect(qv.estimate.optimizerState).toBe(2 * qv.estimate.lora);
    const all = trainMemory(info, { seqLen: 64, batch: 4, rank: 8, targets: ['all-linear'], method: 'sft' }, limits);
    if ('error' in all) throw new Error(all.error);
    expect(all.estimate.loraParameters).toBeGreaterThan(qv.estimate.loraParameters);
    expect(all.limits).toEqual(limits);
  });

  it('packs a pair as two sequences; only DPO adds the reference, and not its pass when precomputed', async () => {
    const info = await storiesInfo();
    const shape: TrainShape = { seqLen: 64, batch: 4, rank: 8, targets: ['q_proj', 'v_proj'], method: 'dpo' };
    const estimate = (s: TrainShape) => {
      const m = trainMemory(info, s, limits);
      if ('error' in m) throw new Error(m.error);
      return m.estimate;
    };
    const eight = (training: Parameters<typeof estimateMemory>[1]['training']) => estimateMemory(info.config, { seqLen: 64, batch: 8, weightFormat: 'f32', training });
    const lora = { loraRank: 8, targets: ['q_proj', 'v_proj'] };
    // 4 pairs = 8 sequences of 64 tokens, with the reference scored in the step.
    const dpo = estimate(shape);
    expect(dpo).toEqual(eight({ ...lora, referencePass: true }));
    expect(dpo.reference).toBeGreaterThan(0);
    expect(estimate({ ...shape, precomputeRef: true })).toEqual(eight(lora));
    // From a saved adapter: its parameters stay, precomputed or not.
    const referenceLora = { rank: 4, targets: ['q_proj'] };
    expect(estimate({ ...shape, precomputeRef: true, referenceLora })).toEqual(eight({ ...lora, referenceLora }));
    expect(estimate({ ...shape, referenceLora })).toEqual(eight({ ...lora, referencePass: true, referenceLora }));
    // SimPO and ORPO have no reference; SFT batches single sequences.
    for (const method of ['simpo', 'orpo'] as const) expect(estimate({ ...shape, method, referenceLora })).toEqual(eight(lora));
    expect(estimate({ ...shape, method: 'sft' })).toEqual(estimateMemory(info.config, { seqLen: 64, batch: 4, weightFormat: 'f32', training: lora }));
  });

  it('warns when a buffer exceeds the adapter limits and reports bad targets as an error', async () => {
    const info = await storiesInfo();
    const tight = trainMemory(info, { seqLen: 512, batch: 64, rank: 8, targets: ['q_proj'], method: 'sft' }, { maxBufferSize: 1 << 20, maxStorageBufferBindingSize: 1 << 19 });
    if ('error' in tight) throw new Error(tight.error);
    expect(tight.estimate.warnings.join(' ')).toMatch(/exceeds the largest buffer/);
    const bad = trainMemory(info, { seqLen: 64, batch: 4, rank: 8, targets: ['c_attn'], method: 'sft' }, limits);
    expect(bad).toEqual({ error: expect.stringContaining('c_attn') });
  });
});
