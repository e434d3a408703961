// Must hold: "Decoding with the KV cache gives the same tokens as recomputing the whole sequence at every
// step", on the GPU engine. Two prompts of different lengths decode together (one extend per step, each
// sequence its own cache); the reference runs the same generate() over RecomputingLm, which feeds the whole
// sequence so far to a fresh sequence at every step. Greedy and sampled (temperature 0.8, fixed seed), with
// f32 and with f16 weight storage; the sampled f32 run also equals the CPU reference's. Logits that are not
// finite end greedy decoding with an error, on the GPU engine as on the CPU reference.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { generate, type GenerationResult } from '../../src/engine/model/generate';
import type { GenerateOptions } from '../../src/engine/model/generation-options';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { RecomputingLm } from '../helpers/fake-lm';
import { testGpu } from '../helpers/gpu';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';

const NEW_TOKENS = 24;
const SETTINGS: { name: string; options: GenerateOptions }[] = [
  { name: 'greedy', options: { maxNewTokens: NEW_TOKENS, temperature: 0, stopTokenIds: [] } },
  { name: 'temperature 0.8, seed 1234', options: { maxNewTokens: NEW_TOKENS, temperature: 0.8, topP: 0.95, seed: 1234, stopTokenIds: [] } },
];

for (const weightFormat of ['f32', 'f16'] as const) {
  describe(`GPU generation with ${weightFormat} weights: KV cache = recomputation (stories260K)`, () => {
    let model: GpuCausalLm;
    let prompts: number[][];
    const outputs: GenerationResult[][] = [];

    beforeAll(async () => {
      const ctx = await testGpu();
      const loaded = await loadModel(STORIES260K_DIR);
      model = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat });
      const tokenizer = new ModelTokenizer(loaded.files);
      prompts = [[tokenizer.bosTokenId!], tokenizer.encode('Once upon a time there was a')];
    });

    afterAll(() => model?.dispose());

    for (const { name, options } of SETTINGS) {
      it(`${name}: ${NEW_TOKENS} new tokens for two prompts at once`, async () => {
        const cached = await generate(model, prompts, options);
        const recomputed = await generate(new RecomputingLm(model), prompts, options);
        expect(cached.map((r) => r.tokens.length)).toEqual([NEW_TOKENS, NEW_TOKENS]);
        expect(cached.map((r) => r.tokens)).toEqual(recomputed.map((r) => r.tokens));
        outputs.push(cached);
      });
    }

    it('the sampled run differs from the greedy one (it really sampled)', () => {
      expect(outputs).toHaveLength(2);
      expect(outputs[1].map((r) => r.tokens)).not.toEqual(outputs[0].map((r) => r.tokens));
    });

    if (weightFormat === 'f32') {
      it('the same seed gives the CPU reference the same sampled tokens', async () => {
        const loaded = await loadModel(STORIES260K_DIR);
        const cpu = new CpuCausalLm(loaded.config, loaded.weights);
        const onCpu = await generate(cpu, prompts, SETTINGS[1].options);
        expect(outputs[1].map((r) => r.tokens)).toEqual(onCpu.map((r) => r.tokens));
      });
    }
  });
}

describe('GPU greedy decoding on logits that are not finite', () => {
  it('raises NonFiniteLogitsError naming the prompt, step and position, as the CPU reference does', async () => {
    // Finite weights that overflow: a final norm weight of 3e38 makes the normed hidden state Inf, and the LM
    // head's sums of Inf with both signs NaN (argmax used to answer token 0 for them).
    const loaded = await loadModel(STORIES260K_DIR);
    const norm = loaded.files.weights[0].tensors.get('model.norm.weight')!;
    expect(norm.dtype).toBe('F32');
    new Float32Array(norm.bytes.buffer, norm.bytes.byteOffset, norm.size).fill(3e38);
    const prompt = [new ModelTokenizer(loaded.files).bosTokenId!];
    const want = /^prompt 0, new token 1 \(position 1\): the logits hold (NaN|Infinity) for token id \d+, so no next token can be chosen/;
    const gpu = await GpuCausalLm.create(await testGpu(), loaded.config, loaded.weights, { weightFormat: 'f32' });
    try {
      await expect(generate(gpu, [prompt], { maxNewTokens: 4, temperature: 0 })).rejects.toThrow(want);
    } finally {
      gpu.dispose();
    }
    await expect(generate(new CpuCausalLm(loaded.config, loaded.weights), [prompt], { maxNewTokens: 4, temperature: 0 })).rejects.toThrow(want);
  });
});
