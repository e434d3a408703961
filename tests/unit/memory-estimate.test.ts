import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelConfig, type ModelConfig } from '../../src/engine/model/config';
import { estimateMemory, loraModules, parameterCount } from '../../src/engine/model/memory-estimate';
import { BufferPool } from '../../src/engine/gpu/buffer-pool';
import { sumChunkCount } from '../../src/engine/ops/gpu/reduce';
import { softwareKernels } from '../../src/engine/train/gpu/train-kernel-scratch';
import { countParameters } from '../../src/engine/model/weights';
import { STORIES260K_DIR, loadModel, makeTempDir, removeTempDir, writeTinyModel, type TinyModelOptions } from '../helpers/tiny-models';

// The published configs' relevant fields (HuggingFaceTB/SmolLM2-135M, openai-community/gpt2, Qwen/Qwen2.5-0.5B).
const SMOLLM2_135M = parseModelConfig({
  architectures: ['LlamaForCausalLM'],
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
  hidden_act: 'silu',
});
const GPT2 = parseModelConfig({ architectures: ['GPT2LMHeadModel'], n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, vocab_size: 50257 });
const QWEN25_05B = parseModelConfig({
  architectures: ['Qwen2ForCausalLM'],
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  max_position_embeddings: 32768,
  tie_word_embeddings: true,
});

let stories: ModelConfig;
beforeAll(async () => {
  stories = parseModelConfig(JSON.parse(await readFile(join(STORIES260K_DIR, 'config.json'), 'utf8')));
});

const MiB = 2 ** 20;

describe('parameterCount', () => {
  it('matches the published totals of real models', () => {
    // SmolLM2-135M: embed 49152*576 + 30 * (q 576^2 + k, v 192*576 + o 576^2 + 3 * 1536*576 + 2 norms 576) + 576.
    const smolLayer = 2 * 576 * 576 + 2 * 192 * 576 + 3 * 1536 * 576 + 2 * 576;
    expect(parameterCount(SMOLLM2_135M)).toBe(49152 * 576 + 30 * smolLayer + 576);
    expect(parameterCount(SMOLLM2_135M)).toBe(134_515_008);
    expect(parameterCount(GPT2)).toBe(124_439_808);
    expect(parameterCount(QWEN25_05B)).toBe(494_032_768);
    // stories260K: "260K": 512*64 + 5 * (64^2 + 2 * 32*64 + 64^2 + 3 * 172*64 + 2*64) + 64.
    expect(parameterCount(stories)).toBe(512 * 64 + 5 * (2 * 4096 + 2 * 2048 + 3 * 172 * 64 + 128) + 64);
    expect(parameterCount(stories)).toBe(260_032);
  });

  describe('equals countParameters of the loaded weights', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await makeTempDir();
    });
    afterAll(() => removeTempDir(dir));

    const cases: [string, 'llama' | 'qwen2' | 'gpt2', TinyModelOptions][] = [
      ['llama (untied, explicit head_dim)', 'llama', {}],
      ['llama tied', 'llama', { tied: true }],
      ['qwen2 (biases, tied)', 'qwen2', {}],
      ['qwen2 untied', 'qwen2', { tied: false }],
      ['gpt2', 'gpt2', {}],
      ['gpt2 with n_inner and an lm_head', 'gpt2', { tied: false, sizes: { intermediateSize: 80 } }],
    ];
    it.each(cases)('%s', async (name, kind, options) => {
      const folder = join(dir, name.replace(/\W+/g, '-'));
      await writeTinyModel(folder, kind, options);
      const { config, weights } = await loadModel(folder);
      expect(parameterCount(config)).toBe(countParameters(weights));
    });

    it('stories260K', async () => {
      const { config, weights } = await loadModel(STORIES260K_DIR);
      expect(parameterCount(config)).toBe(countParameters(weights));
    });
  });
});

describe('estimateMemory', () => {
  it('SmolLM2-135M inference: f16 weights about 2 bytes per parameter, KV cache L*2*B*T*Hkv*D*4', () => {
    const e = estimateMemory(SMOLLM2_135M, { seqLen: 2048, batch: 1, weightFormat: 'f16' });
    const vectors = 30 * 2 * 576 + 576; // RMSNorm weights stay f32
    expect(e.parameters).toBe(134_515_008);
    expect(e.weights).toBe(2 * (134_515_008 - vectors) + 4 * vectors);
    expect(e.weights / (2 * e.parameters)).toBeCloseTo(1, 3);
    expect(e.kvCache).toBe(30 * 2 * 1 * 2048 * 3 * 64 * 4);
    expect(e.kvCache).toBe(90 * MiB);
    // One layer's scratch per row: x, norm out, sublayer out (3C), q and attention out (2 Hq D), k, v (2 Hkv D), gate, up, product (3F).
    // x, norm out, q, k, v, attention out, the fused q, k, v before RoPE, [gate | up] and hidden.
    expect(e.activations).toBe(2048 * (2 * 576 + 2 * 576 + 2 * 192 + (576 + 2 * 192) + 3 * 1536) * 4);
    expect(e.logits).toBe(49152 * 4);
    expect([e.loraParameters, e.lora, e.gradients, e.optimizerState]).toEqual([0, 0, 0, 0]);
    expect(e.total).toBe(e.weights + e.kvCache + e.activations + e.logits);
    expect(e.largestTensor).toEqual({ name: 'token embedding', bytes: 49152 * 576 * 2 });
    expect(e.warnings).toEqual([]);

    const f32 = estimateMemory(SMOLLM2_135M, { seqLen: 2048, batch: 1, weightFormat: 'f32' });
    expect(f32.weights).toBe(4 * 134_515_008);
    const batch4 = estimateMemory(SMOLLM2_135M, { seqLen: 512, batch: 4, weightFormat: 'f16' });
    expect(batch4.kvCache).toBe(e.kvCache);
    expect(batch4.logits).toBe(4 * e.logits);
  });

  // Training figures are the sum of the trainer's allocation plan (train-allocation.ts), which the GPU test
  // tests/gpu/train-memory.test.ts holds against the bytes the device really held. Against the formula they
  // replaced they add what a step really holds: the flash attention backward's per-layer temporaries (delta and,
  // for GQA, two (N, Hq D) partials), q, k and v as projected before RoPE, the whole backward scratch (the fused q, k, v gradient and
  // the residual's), the batch, readbacks, the cross-entropy state, the uniform arena and pool rounding.
  const SMOL = { C: 576, Q: 576, K: 192, F: 1536, Hq: 9 };
  /** f32 values per row one layer saves (LayerActivations), with u of `modules` modules at rank r. */
  const savedRow = (modules: number, r: number) => 2 + 3 * SMOL.C + 2 * SMOL.Q + 2 * SMOL.K + SMOL.Hq + 3 * SMOL.F + modules * r;
  /**
   * Per row, once a step: q, k, v before RoPE; final norm out, rstd, row loss, loss lse (2); the backward's scratch
   * with du as wide as the widest down group (its modules x r: q, v at r 8 -> 16; q, k, v at r 16 -> 48); ids,
   * positions, labels, the row-loss readback; cross-entropy state (4).
   */
  const stepRow = (du: number) => {
    const { C, Q, K, F } = SMOL;
    // Backward: dh, dAttn, [dq | dk | dv], [dgate | dup] and dHidden (3F), du, dResidual, dFinal.
    return Q + 2 * K + (C + 1 + 1 + 2) + (C + Q + (Q + 2 * K) + 3 * F + du + C + C) + 4 + 4;
  };
  /** The flash attention backward, per layer and row: delta (Hq) and GQA's dk and dv partials (Hq D each). */
  const attentionRow = SMOL.Hq + 2 * SMOL.Q;
  /** Buffers the pool rounds up to 256 bytes: loss result (16), grad-norm partials and readback; the 16-byte grad-norm result. */
  const SMALL = 3 * 256 + 16;

  it('SmolLM2-135M LoRA training: r (in + out) per module, f32 gradients, AdamW twice, activations of the plan', () => {
    const qv = estimateMemory(SMOLLM2_135M, { seqLen: 512, batch: 4, weightFormat: 'f16', training: { loraRank: 8, targets: ['q_proj', 'v_proj'] } });
    expect(qv.loraParameters).toBe(30 * 8 * (576 + 576 + (576 + 192)));
    expect(qv.loraParameters).toBe(460_800); // what PEFT prints for r=8 on q_proj, v_proj
    // The arena puts every A and B on 64 elements: r * in and out * r are multiples of 64 here, no padding.
    expect(qv.lora).toBe(460_800 * 4);
    expect(qv.gradients).toBe(460_800 * 4);
    expect(qv.optimizerState).toBe(2 * 460_800 * 4);
    expect(qv.kvCache).toBe(0);
    const inference = estimateMemory(SMOLLM2_135M, { seqLen: 512, batch: 4, weightFormat: 'f16' });
    expect(qv.weights).toBe(inference.weights + 32 * 4); // + the (D / 2) RoPE frequencies
    const N = 2048;
    // 3,028 dispatches at most (30 layers x 98 + LM-head chunks) x 256 bytes: the arena's 1 MiB.
    const arena = 2 ** 20;
    expect(qv.activations).toBe((30 * N * (savedRow(2, 8) + attentionRow) + 31 * N * SMOL.C + N * stepRow(2 * 8)) * 4 + SMALL + arena);
    // The loss's vocabulary chunk: 64 MiB / (4 * max(N, C)) = 8192 columns of N rows.
    expect(qv.logits).toBe(N * 8192 * 4);
    expect(qv.total).toBe(qv.weights + qv.activations + qv.lora + qv.gradients + qv.optimizerState + qv.logits);
    expect(qv.plan!.reduce((a, e) => a + e.heldBytes, 0)).toBe(qv.total);

    const all = estimateMemory(SMOLLM2_135M, { seqLen: 512, batch: 4, weightFormat: 'f16', training: { loraRank: 16, targets: ['all-linear'], recompute: true } });
    const perLayer = (576 + 576) + 2 * (576 + 192) + (576 + 576) + 2 * (576 + 1536) + (1536 + 576);
    expect(all.loraParameters).toBe(30 * 16 * perLayer);
    // Recompute keeps only each layer's input (C per row) plus ONE saved set; the arena (2 MiB) is the same either way.
    const allSaved = estimateMemory(SMOLLM2_135M, { seqLen: 512, batch: 4, weightFormat: 'f16', training: { loraRank: 16, targets: ['all-linear'] } });
    expect(allSaved.activations - all.activations).toBe(29 * N * savedRow(7, 16) * 4);
    // Its grad-norm partials grow with the larger arena: one f32 per 8,192-element chunk of the gradients.
    const partials = BufferPool.roundSize(sumChunkCount(all.lora / 4) * 4);
    expect(all.activations).toBe((N * savedRow(7, 16) + 30 * N * attentionRow + 31 * N * SMOL.C + N * stepRow(3 * 16)) * 4 + SMALL - 256 + partials + 2 * 2 ** 20);
    expect(all.activations).toBeLessThan(qv.activations / 3);
  });

  it('a software adapter adds the widening scratch and the score matrices instead of the flash temporaries', () => {
    const training = { loraRank: 8, targets: ['q_proj', 'v_proj'] };
    const shape = { seqLen: 512, batch: 1, weightFormat: 'f16' as const, training };
    const gpu = estimateMemory(SMOLLM2_135M, shape);
    const software = estimateMemory(SMOLLM2_135M, { ...shape, kernels: softwareKernels(128 * MiB) });
    const N = 512;
    // Widened B: the largest f16 matrix a product reads, one LM-head chunk of 29056 columns (64 MiB / (4 C),
    // down to a multiple of 128).
    const widen = 29056 * 576 * 4;
    // Scores and their gradients (Hq, T, T), and GQA's dk, dv partials (T, Hq D), once per step each.
    const scores = 2 * 9 * 512 * 512 * 4 + 2 * 512 * 576 * 4;
    expect(software.activations - gpu.activations).toBe(widen + scores - 30 * N * attentionRow * 4);
    const names = software.plan!.map((e) => e.name);
    expect(names).toContain('matmul widened B (f32)');
    expect(names.filter((n) => n.startsWith('attention delta'))).toEqual([]);
  });

  it('stories260K: every figure by hand', () => {
    const e = estimateMemory(stories, { seqLen: 256, batch: 2, weightFormat: 'f32' });
    expect(e.weights).toBe(260_032 * 4);
    expect(e.kvCache).toBe(5 * 2 * 2 * 256 * 4 * 8 * 4);
    expect(e.activations).toBe(512 * (2 * 64 + 2 * 64 + 2 * 32 + (64 + 2 * 32) + 3 * 172) * 4);
    expect(e.logits).toBe(2 * 512 * 4);
    const t = estimateMemory(stories, { seqLen: 256, batch: 2, weightFormat: 'f16', training: { loraRank: 4, targets: ['q_proj', 'k_proj', 'down_proj'] } });
    expect(t.loraParameters).toBe(5 * 4 * ((64 + 64) + (64 + 32) + (172 + 64)));
    // The arena pads each A and B to 64 elements: q A 256 + B 256, k 256 + 128, down A 688 -> 704, B 256.
    expect(t.lora).toBe(5 * (256 + 256 + 256 + 128 + 704 + 256) * 4);
    // 512 rows * 512 vocab columns fit one 64 MiB chunk: the whole (N, V) logits.
    expect(t.logits).toBe(512 * 512 * 4);
  });

  it('DPO adds its reference: the forward-only scoring pass in the step, and the frozen reference adapter', () => {
    const shape = { seqLen: 512, batch: 4, weightFormat: 'f16' as const };
    const lora = { loraRank: 8, targets: ['q_proj', 'v_proj'] };
    const sft = estimateMemory(SMOLLM2_135M, { ...shape, training: lora });
    expect(sft.reference).toBe(0);
    const N = 2048;
    const chunk = N * 8192 * 4;
    const { C, Q, K, F, Hq } = SMOL;
    // Per row: 2 layer inputs (2C); one activation set (3C, 2 rstd, q and attention out, k, v, Hq lse, 3F);
    // q, k, v before RoPE; the final norm out, its rstd, the row losses and the loss's (N, 2) lse; the
    // cross-entropy state (4) and the row losses' readback.
    const passRow = 2 * C + (3 * C + 2 + 2 * Q + 2 * K + Hq + 3 * F) + (Q + 2 * K) + (C + 1 + 1 + 2) + 4 + 1;
    expect(passRow).toBe(10_580);
    const base = estimateMemory(SMOLLM2_135M, { ...shape, training: { ...lora, referencePass: true } });
    expect(base.reference).toBe(N * passRow * 4 + 256 + chunk); // + its 16-byte loss result, pooled at 256
    expect(base.reference).toBe(153_780_480);
    // The preference gradient's (N) row info and row scales and per-sequence ranges and sums join the
    // activations (the reference's dispatches, 4,012 at most, still fit the 1 MiB arena).
    expect(base.activations - sft.activations).toBe(2 * N * 4 + 2 * 256);
    expect([base.logits, base.lora, base.gradients]).toEqual([sft.logits, sft.lora, sft.gradients]);

    // From a saved adapter (r 8 on q, v): its parameters stay on the GPU; precomputed, no pass in the step.
    const referenceLora = { rank: 8, targets: ['q_proj', 'v_proj'] };
    const cached = estimateMemory(SMOLLM2_135M, { ...shape, training: { ...lora, referenceLora } });
    expect(cached.reference).toBe(460_800 * 4);
    // In the step, the pass also keeps each reference module's (N, r) down-projection.
    const inStep = estimateMemory(SMOLLM2_135M, { ...shape, training: { ...lora, referenceLora, referencePass: true } });
    expect(inStep.reference).toBe(460_800 * 4 + N * (passRow + 2 * 8) * 4 + 256 + chunk);
  });

  it('stories260K DPO reference pass by hand', () => {
    // 4 pairs of 64 tokens: 8 sequences, N = 512 rows; the (N, V) logits fit one chunk.
    const training = { loraRank: 4, targets: ['q_proj', 'v_proj'], referencePass: true };
    const e = estimateMemory(stories, { seqLen: 64, batch: 8, weightFormat: 'f32', training });
    const passRow = 2 * 64 + (3 * 64 + 2 + 2 * 64 + 2 * 32 + 8 + 3 * 172) + (64 + 2 * 32) + (64 + 1 + 1 + 2) + 4 + 1;
    expect(passRow).toBe(1239);
    expect(e.reference).toBe(512 * 1239 * 4 + 256 + 512 * 512 * 4);
    expect(e.reference).toBe(3_586_304);
    // The saved adapter's arena: A (4, 64) and B (64, 4) and (32, 4), each on 64 elements: q 256 + 256, v 256 + 128.
    const fromAdapter = estimateMemory(stories, { seqLen: 64, batch: 8, weightFormat: 'f32', training: { ...training, referenceLora: { rank: 4, targets: ['q_proj', 'v_proj'] } } });
    expect(fromAdapter.reference).toBe(5 * (256 + 256 + 256 + 128) * 4 + 512 * (1239 + 2 * 4) * 4 + 256 + 512 * 512 * 4);
    expect(fromAdapter.reference).toBe(3_620_608);
    expect(() => estimateMemory(stories, { seqLen: 8, batch: 2, weightFormat: 'f32', training: { ...training, referenceLora: { rank: 4, targets: ['c_attn'] } } })).toThrow(
      /"c_attn" is not a linear module of LlamaForCausalLM/,
    );
  });

  it('GPT-2 and Qwen2 parameters split into f16 matrices and f32 norms and biases', () => {
    const g = estimateMemory(GPT2, { seqLen: 1024, batch: 1, weightFormat: 'f16' });
    const gVectors = 12 * (2 * 2 * 768 + 3 * 768 + 768 + 3072 + 768) + 2 * 768;
    expect(g.weights).toBe(2 * (124_439_808 - gVectors) + 4 * gVectors);
    expect(g.kvCache).toBe(12 * 2 * 1024 * 12 * 64 * 4);
    // GELU MLP: fc and activation (2F).
    // x, norm out, q, k, v, attention out (learned positions: no fused q, k, v), c_fc out and hidden.
    expect(g.activations).toBe(1024 * (2 * 768 + 4 * 768 + 2 * 3072) * 4);
    const q = estimateMemory(QWEN25_05B, { seqLen: 1, batch: 1, weightFormat: 'f16' });
    const qVectors = 24 * (2 * 896 + 896 + 2 * 128) + 896;
    expect(q.weights).toBe(2 * (494_032_768 - qVectors) + 4 * qVectors);
    expect(() => estimateMemory(GPT2, { seqLen: 8, batch: 1, weightFormat: 'f16', training: { loraRank: 8, targets: ['q_proj'] } })).toThrow(
      /"q_proj" is not a linear module of GPT2LMHeadModel \(one of: c_attn, c_proj, c_fc, all-linear\)/,
    );
    // PEFT's c_proj names both the attention and the MLP output projection.
    expect(loraModules(GPT2, ['c_proj']).map((m) => [m.in, m.out])).toEqual([
      [768, 768],
      [3072, 768],
    ]);
  });

  it('checks the largest tensor against the binding and buffer limits', () => {
    const limits = { maxStorageBufferBindingSize: 32 * MiB, maxBufferSize: 64 * MiB };
    const f16 = estimateMemory(SMOLLM2_135M, { seqLen: 512, batch: 1, weightFormat: 'f16' }, limits);
    // 49152 * 576 * 2 = 54 MiB: two 32 MiB bindings, one buffer.
    expect(f16.largestTensorParts).toBe(Math.ceil((49152 * 576 * 2) / (32 * MiB)));
    expect(f16.largestTensorParts).toBe(2);
    expect(f16.warnings).toEqual(['token embedding (54.0 MiB) exceeds the storage binding limit (32.0 MiB): it will be split into 2 parts']);
    const f32 = estimateMemory(SMOLLM2_135M, { seqLen: 512, batch: 1, weightFormat: 'f32' }, limits);
    expect(f32.largestTensorParts).toBe(4); // 108 MiB / 32 MiB = 3.4
    expect(f32.warnings).toHaveLength(2);
    expect(f32.warnings[1]).toBe('token embedding (108.0 MiB) exceeds the largest buffer this GPU allows (64.0 MiB)');
    const roomy = estimateMemory(SMOLLM2_135M, { seqLen: 512, batch: 1, weightFormat: 'f32' }, { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB });
    expect(roomy.warnings).toEqual([]);
    // A big batch on a small model: the (N, F) MLP activation outgrows every weight and the KV cache.
    const wide = estimateMemory(stories, { seqLen: 512, batch: 64, weightFormat: 'f16' }, { maxStorageBufferBindingSize: 2 * MiB, maxBufferSize: 1024 * MiB });
    expect(wide.largestTensor).toEqual({ name: 'widest activation', bytes: 64 * 512 * 172 * 4 });
    expect(wide.largestTensorParts).toBe(11); // 22 MiB in 2 MiB bindings
  });

  it('warns past the position limit and refuses bad shapes', () => {
    expect(estimateMemory(stories, { seqLen: 1024, batch: 1, weightFormat: 'f32' }).warnings).toEqual([
      "sequence length 1024 exceeds the model's 512 positions (max_position_embeddings)",
    ]);
    expect(() => estimateMemory(stories, { seqLen: 0, batch: 1, weightFormat: 'f32' })).toThrow(/seqLen must be a positive integer, got 0/);
    expect(() => estimateMemory(stories, { seqLen: 8, batch: 1.5, weightFormat: 'f32' })).toThrow(/batch/);
    expect(() => estimateMemory(stories, { seqLen: 8, batch: 1, weightFormat: 'f32', training: { loraRank: 0, targets: ['q_proj'] } })).toThrow(/rank/);
    expect(() => estimateMemory(stories, { seqLen: 8, batch: 1, weightFormat: 'f32', training: { loraRank: 4, targets: [] } })).toThrow(/targets are empty/);
  });
});
