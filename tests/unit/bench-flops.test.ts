// The training bench's FLOP accounting (bench/core/train-flops.ts): 4N + 6·L·C·T per token, N = linear-layer
// weights + the LM head, checked against numbers worked out by hand from stories260K's config.json and
// against the parameters of the real stories260K weights; a forward alone (DPO's reference pass) is
// 2N + 2·L·C·T; and the SmolLM2-135M-shaped random model the bench trains has that shape.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomLlamaModel, SMOLLM2_135M_CONFIG } from '../../bench/core/random-model';
import { forwardFlopsPerToken, loraFlopsPerToken, matmulParams, trainFlopsPerToken } from '../../bench/core/train-flops';
import { planAdapter } from '../../src/engine/lora/adapter';
import { readModelConfig } from '../../src/engine/model/config';
import { countParameters, type ModelWeights } from '../../src/engine/model/weights';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';

/** Weights of every norm (RMSNorm: one (C) vector per norm). */
function normParams(w: ModelWeights): number {
  let n = w.finalNorm.weight.shape[0];
  for (const l of w.layers) n += l.attnNorm.weight.shape[0] + l.mlpNorm.weight.shape[0];
  return n;
}

describe('training FLOP accounting', () => {
  it("gives 4N + 6·L·C·T for stories260K's config at T = 256", async () => {
    const config = readModelConfig(await readFile(join(STORIES260K_DIR, 'config.json'), 'utf8'));
    // C = 64, Hq = 8, Hkv = 4, D = 8, F = 172, L = 5, V = 512 (tied):
    // per block q 64x64 + k 32x64 + v 32x64 + o 64x64 + gate, up, down 3 x 64x172 = 45312; LM head 512x64.
    const N = 5 * (64 * 64 + 32 * 64 + 32 * 64 + 64 * 64 + 3 * 64 * 172) + 512 * 64;
    expect(N).toBe(259_328);
    const f = trainFlopsPerToken(config, 256);
    expect(f.matmulParams).toBe(N);
    expect(f.weightFlopsPerToken).toBe(4 * N);
    expect(f.attentionFlopsPerToken).toBe(6 * 5 * 64 * 256);
    expect(f.flopsPerToken).toBe(4 * 259_328 + 6 * 5 * 64 * 256); // 1_528_832
    expect(f.flopsPerToken).toBe(1_528_832);
    // Only the attention term grows with the sequence length.
    expect(trainFlopsPerToken(config, 512).flopsPerToken - f.flopsPerToken).toBe(6 * 5 * 64 * 256);
    expect(() => trainFlopsPerToken(config, 0)).toThrow(/sequence length/);
    // DPO's reference pass: a forward alone, 2N + 2·L·C·T.
    expect(forwardFlopsPerToken(config, 256)).toBe(2 * 259_328 + 2 * 5 * 64 * 256);
  });

  it("counts N as the real stories260K weights' parameters without the norms (tied head once)", async () => {
    const { config, weights } = await loadModel(STORIES260K_DIR);
    expect(weights.tied).toBe(true);
    expect(matmulParams(config)).toBe(countParameters(weights) - normParams(weights));
  });

  it("counts LoRA's own products separately: 6·r·(in + out) per adapted slot", async () => {
    const { config, weights } = await loadModel(STORIES260K_DIR);
    const adapter = planAdapter(config.architecture, weights, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false });
    // q: 64 -> 64, v: 64 -> 32, in each of 5 layers.
    expect(loraFlopsPerToken(adapter)).toBe(5 * (6 * 8 * (64 + 64) + 6 * 8 * (64 + 32)));
  });

  it("builds the SmolLM2-135M-shaped random model with that model's parameter count", () => {
    const { config, weights } = randomLlamaModel({ ...SMOLLM2_135M_CONFIG }, 1);
    expect([config.hiddenSize, config.intermediateSize, config.numLayers, config.numHeads, config.numKvHeads, config.headDim, config.vocabSize]).toEqual([
      576, 1536, 30, 9, 3, 64, 49152,
    ]);
    expect(weights.tied).toBe(true);
    expect(weights.layers[0].k.weight.shape).toEqual([192, 576]);
    expect(weights.layers[0].k.module.path).toBe('model.layers.0.self_attn.k_proj');
    // 30 x (576^2 x 2 + 192 x 576 x 2 + 3 x 576 x 1536) + 49152 x 576, plus 61 RMSNorm vectors of 576.
    expect(matmulParams(config)).toBe(134_479_872);
    expect(countParameters(weights)).toBe(134_479_872 + 61 * 576);
    expect(trainFlopsPerToken(config, 256).flopsPerToken).toBe(4 * 134_479_872 + 6 * 30 * 576 * 256);
    // Seeded: two reads of one tensor agree, two tensors differ, values have the requested spread.
    const a = weights.layers[0].k.weight.read();
    expect(weights.layers[0].k.weight.read()).toEqual(a);
    expect(weights.layers[0].v.weight.read()).not.toEqual(a);
    const std = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
    expect(weights.layers[0].attnNorm.weight.read().every((x) => x === 1)).toBe(true);
  });
});
