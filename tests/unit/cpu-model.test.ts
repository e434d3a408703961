import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/engine/model/config';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import type { ModelWeights, WeightTensor } from '../../src/engine/model/weights';
import { expectClose } from '../helpers/assert';
import { STORIES260K_DIR, loadModel, makeTempDir, removeTempDir, writeTinyModel, type TinyKind, type TinyModel } from '../helpers/tiny-models';

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

async function allLogits(model: CpuCausalLm, tokens: number[]): Promise<Float32Array> {
  const s = model.createSequence(tokens.length);
  const [logits] = await model.extend([{ sequence: s, tokens }], 'all');
  return logits;
}

const SEQUENCE = [1, 17, 300, 42, 511, 0, 99, 17, 256, 3, 77];

describe('CpuCausalLm on stories260K', () => {
  it('greedy-decodes 40 tokens from BOS with the KV cache exactly as llama2.c does', async () => {
    const { files, config, weights } = await loadModel(STORIES260K_DIR);
    const model = new CpuCausalLm(config, weights);
    const sequence = model.createSequence(41);
    const generated: number[] = [];
    let next = [config.bosTokenId!];
    for (let i = 0; i < 40; i++) {
      const [logits] = await model.extend([{ sequence, tokens: next }], 'last');
      expect(logits.length).toBe(512);
      generated.push(argmax(logits));
      next = [generated[i]];
    }
    expect(sequence.length).toBe(40);
    const tokenizer = new Tokenizer(files.tokenizer!, files.tokenizerConfig!);
    // The file is llama2.c's printout, which ends with one newline of its own.
    const expected = (await readFile(join(STORIES260K_DIR, 'expected_greedy_from_bos_40_tokens.txt'), 'utf8')).replace(/\n$/, '');
    expect(expected).toMatch(/^Once upon a time/);
    expect(tokenizer.decode(generated, { skip_special_tokens: true })).toBe(expected);
  });
});

/**
 * A single token at position 0, computed independently from the raw checkpoint tensors (GPT-2's Conv1D as
 * x @ W + b on the (in, out) tensor, no transposition or splitting helpers). With one position, RoPE is the
 * identity and softmax over one key is 1, so query head h outputs v of kv head floor(h / (Hq / Hkv)).
 */
function singleTokenLogits(kind: TinyKind, m: TinyModel, c: ModelConfig, token: number): Float64Array {
  const raw = (name: string) => Float64Array.from(m.tensors[name].data);
  const { hiddenSize: C, numHeads: Hq, numKvHeads: Hkv, headDim: D, vocabSize: V } = c;
  const rmsNorm = (x: Float64Array, w: Float64Array) => {
    const r = 1 / Math.sqrt(x.reduce((a, v) => a + v * v, 0) / C + c.normEps);
    return x.map((v, i) => v * r * w[i]);
  };
  const layerNorm = (x: Float64Array, w: Float64Array, b: Float64Array) => {
    const mean = x.reduce((a, v) => a + v, 0) / C;
    const r = 1 / Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / C + c.normEps);
    return x.map((v, i) => (v - mean) * r * w[i] + b[i]);
  };
  // torch Linear: y_o = sum_i W[o, i] x_i + b_o with W (out, in)
  const linear = (x: Float64Array, w: Float64Array, out: number, b?: Float64Array) =>
    Float64Array.from({ length: out }, (_, o) => x.reduce((a, v, i) => a + w[o * x.length + i] * v, b ? b[o] : 0));
  // Conv1D: y_o = sum_i x_i W[i, o] + b_o with W (in, out); columns [begin, begin + out)
  const conv1d = (x: Float64Array, w: Float64Array, width: number, begin: number, out: number, b: Float64Array) =>
    Float64Array.from({ length: out }, (_, o) => x.reduce((a, v, i) => a + v * w[i * width + begin + o], b[begin + o]));
  const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const silu = (v: number) => v / (1 + Math.exp(-v));
  const add = (x: Float64Array, y: Float64Array) => x.map((v, i) => v + y[i]);

  if (kind === 'gpt2') {
    const p = 'transformer.';
    let x = raw(`${p}wte.weight`).slice(token * C, token * C + C);
    x = add(x, raw(`${p}wpe.weight`).slice(0, C));
    for (let l = 0; l < c.numLayers; l++) {
      const h = `${p}h.${l}`;
      const n1 = layerNorm(x, raw(`${h}.ln_1.weight`), raw(`${h}.ln_1.bias`));
      const v = conv1d(n1, raw(`${h}.attn.c_attn.weight`), 3 * C, 2 * C, C, raw(`${h}.attn.c_attn.bias`));
      x = add(x, conv1d(v, raw(`${h}.attn.c_proj.weight`), C, 0, C, raw(`${h}.attn.c_proj.bias`)));
      const n2 = layerNorm(x, raw(`${h}.ln_2.weight`), raw(`${h}.ln_2.bias`));
      const F = c.intermediateSize;
      const fc = conv1d(n2, raw(`${h}.mlp.c_fc.weight`), F, 0, F, raw(`${h}.mlp.c_fc.bias`)).map(gelu);
      x = add(x, conv1d(fc, raw(`${h}.mlp.c_proj.weight`), C, 0, C, raw(`${h}.mlp.c_proj.bias`)));
    }
    const f = layerNorm(x, raw(`${p}ln_f.weight`), raw(`${p}ln_f.bias`));
    return linear(f, raw(`${p}wte.weight`), V);
  }
  const embed = raw('model.embed_tokens.weight');
  let x = embed.slice(token * C, token * C + C);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const bias = (name: string) => (m.tensors[`${p}${name}.bias`] ? raw(`${p}${name}.bias`) : undefined);
    const n1 = rmsNorm(x, raw(`${p}input_layernorm.weight`));
    const v = linear(n1, raw(`${p}self_attn.v_proj.weight`), Hkv * D, bias('self_attn.v_proj'));
    const attn = new Float64Array(Hq * D);
    for (let h = 0; h < Hq; h++) attn.set(v.subarray(Math.floor(h / (Hq / Hkv)) * D, (Math.floor(h / (Hq / Hkv)) + 1) * D), h * D);
    x = add(x, linear(attn, raw(`${p}self_attn.o_proj.weight`), C));
    const n2 = rmsNorm(x, raw(`${p}post_attention_layernorm.weight`));
    const F = c.intermediateSize;
    const gate = linear(n2, raw(`${p}mlp.gate_proj.weight`), F);
    const up = linear(n2, raw(`${p}mlp.up_proj.weight`), F);
    x = add(x, linear(gate.map((g, i) => silu(g) * up[i]), raw(`${p}mlp.down_proj.weight`), C));
  }
  const f = rmsNorm(x, raw('model.norm.weight'));
  return linear(f, m.tensors['lm_head.weight'] ? raw('lm_head.weight') : embed, V);
}

describe.each(['llama', 'qwen2', 'gpt2'] as const)('CpuCausalLm on a tiny %s', (kind) => {
  let dir: string;
  let tiny: TinyModel;
  let model: CpuCausalLm;

  beforeAll(async () => {
    dir = await makeTempDir();
    tiny = await writeTinyModel(dir, kind, { seed: 7 });
    const { config, weights } = await loadModel(dir);
    model = new CpuCausalLm(config, weights);
  });
  afterAll(() => removeTempDir(dir));

  it('matches an independent one-token forward written from the raw tensors', async () => {
    for (const token of [1, 300]) {
      const seq = model.createSequence(1);
      const [logits] = await model.extend([{ sequence: seq, tokens: [token] }], 'last');
      expectClose(logits, singleTokenLogits(kind, tiny, model.config, token), { atol: 1e-5, rtol: 1e-6 }, `${kind} token ${token}`);
    }
  });

  it('gives the same logits for one whole pass as for a prefill plus token-by-token decode (exact KV cache)', async () => {
    const V = model.config.vocabSize;
    const whole = await allLogits(model, SEQUENCE);
    expect(whole.length).toBe(SEQUENCE.length * V);

    const seq = model.createSequence(SEQUENCE.length + 5);
    const prefix = 4;
    const [pre] = await model.extend([{ sequence: seq, tokens: SEQUENCE.slice(0, prefix) }], 'all');
    expectClose(pre, whole.subarray(0, prefix * V), { atol: 1e-9, rtol: 0 }, 'prefill');
    for (let t = prefix; t < SEQUENCE.length; t++) {
      const [step] = await model.extend([{ sequence: seq, tokens: [SEQUENCE[t]] }], 'last');
      expectClose(step, whole.subarray(t * V, (t + 1) * V), { atol: 1e-9, rtol: 0 }, `decode step ${t}`);
    }
    expect(seq.length).toBe(SEQUENCE.length);
    // Logits really depend on the context: the same token at two positions scores differently.
    const at1 = whole.subarray(1 * V, 2 * V);
    const at7 = whole.subarray(7 * V, 8 * V);
    expect(Math.max(...at1.map((v, i) => Math.abs(v - at7[i])))).toBeGreaterThan(1e-2);
  });

  it("extends several sequences in one call like separate calls; 'last' is the last row of 'all'", async () => {
    const a = model.createSequence(8);
    const b = model.createSequence(8);
    await model.extend([{ sequence: a, tokens: [5, 6] }], 'last');
    const [la, lb] = await model.extend(
      [
        { sequence: a, tokens: [7, 8, 9] },
        { sequence: b, tokens: [5, 6, 7, 8, 9] },
      ],
      'last',
    );
    const V = model.config.vocabSize;
    const whole = await allLogits(model, [5, 6, 7, 8, 9]);
    expectClose(la, whole.subarray(4 * V), { atol: 1e-9, rtol: 0 }, 'sequence a');
    expectClose(lb, whole.subarray(4 * V), { atol: 1e-9, rtol: 0 }, 'sequence b');
    expect([a.length, b.length]).toEqual([5, 5]);
  });

  it('refuses bad requests by name and leaves the cache unchanged', async () => {
    const V = model.config.vocabSize;
    const seq = model.createSequence(4);
    await model.extend([{ sequence: seq, tokens: [1, 2] }], 'last');
    await expect(model.extend([{ sequence: seq, tokens: [1, 2, 3] }], 'last')).rejects.toThrow(/needs 5 positions.*holds 4/);
    await expect(model.extend([{ sequence: seq, tokens: [] }], 'last')).rejects.toThrow(/no tokens/);
    await expect(model.extend([{ sequence: seq, tokens: [V] }], 'last')).rejects.toThrow(new RegExp(`token id ${V} .*vocabulary of ${V}`));
    await expect(model.extend([{ sequence: seq, tokens: [-1] }], 'last')).rejects.toThrow(/token id -1/);
    const other = model.createSequence(4);
    await expect(
      model.extend(
        [
          { sequence: other, tokens: [3] },
          { sequence: seq, tokens: [V + 7] },
        ],
        'last',
      ),
    ).rejects.toThrow(`token id ${V + 7} (request 1, position 0)`);
    expect([seq.length, other.length]).toEqual([2, 0]);
    expect(() => model.createSequence(model.config.maxPositions + 1)).toThrow(/max_position_embeddings/);
    model.releaseSequence(seq);
    await expect(model.extend([{ sequence: seq, tokens: [1] }], 'last')).rejects.toThrow(/released/);
  });
});

/** A WeightTensor holding given values. */
function constant(source: string, shape: number[], data: Float32Array): WeightTensor {
  return { source, shape, read: () => data.slice() };
}

describe('CpuCausalLm heads and positions', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(() => removeTempDir(dir));

  /** k and v of kv head hk copied into every query head j with kvHeadOf(j) = hk: an Hkv = Hq model. */
  function expandKv(config: ModelConfig, weights: ModelWeights, kvHeadOf: (j: number) => number) {
    const { numHeads: Hq, headDim: D, hiddenSize: C } = config;
    const expand = (t: WeightTensor) => {
      const src = t.read();
      const out = new Float32Array(Hq * D * C);
      for (let j = 0; j < Hq; j++) out.set(src.subarray(kvHeadOf(j) * D * C, (kvHeadOf(j) + 1) * D * C), j * D * C);
      return constant(t.source, [Hq * D, C], out);
    };
    const layers = weights.layers.map((l) => ({
      ...l,
      k: { ...l.k, weight: expand(l.k.weight) },
      v: { ...l.v, weight: expand(l.v.weight) },
    }));
    return new CpuCausalLm({ ...config, numKvHeads: Hq }, { ...weights, layers });
  }

  it('grouped kv heads equal duplicated heads under HF repeat_kv (query head h reads kv head h / group)', async () => {
    await writeTinyModel(dir, 'llama', { seed: 11, sizes: { numHeads: 6, numKvHeads: 2 } });
    const { config, weights } = await loadModel(dir);
    expect([config.numHeads, config.numKvHeads]).toEqual([6, 2]);
    const gqa = await allLogits(new CpuCausalLm(config, weights), SEQUENCE);
    const group = config.numHeads / config.numKvHeads;
    const duplicated = await allLogits(expandKv(config, weights, (j) => Math.floor(j / group)), SEQUENCE);
    expectClose(gqa, duplicated, { atol: 1e-9, rtol: 0 }, 'GQA vs duplicated heads');
    // The check has power: interleaving (j mod Hkv, a wrong mapping) gives different logits.
    const interleaved = await allLogits(expandKv(config, weights, (j) => j % config.numKvHeads), SEQUENCE);
    expect(Math.max(...gqa.map((v, i) => Math.abs(v - interleaved[i])))).toBeGreaterThan(1e-3);
  });

  it('llama3 rope_scaling rotates by the scaled frequencies: position 0 unchanged, later positions differ', async () => {
    await writeTinyModel(dir, 'llama', { seed: 13 });
    const plain = await loadModel(dir);
    await writeTinyModel(dir, 'llama', { seed: 13, llama3Rope: true });
    const scaled = await loadModel(dir);
    expect(scaled.config.ropeScaling.type).toBe('llama3');
    const a = await allLogits(new CpuCausalLm(plain.config, plain.weights), SEQUENCE);
    const b = await allLogits(new CpuCausalLm(scaled.config, scaled.weights), SEQUENCE);
    const V = plain.config.vocabSize;
    // RoPE at position 0 is the identity whatever the frequencies.
    expect(b.subarray(0, V)).toEqual(a.subarray(0, V));
    const diff = Math.max(...b.subarray(V).map((v, i) => Math.abs(v - a[V + i])));
    expect(diff).toBeGreaterThan(1e-3);
    // And the scaled model's KV cache is exact too.
    const model = new CpuCausalLm(scaled.config, scaled.weights);
    const seq = model.createSequence(SEQUENCE.length);
    await model.extend([{ sequence: seq, tokens: SEQUENCE.slice(0, 6) }], 'last');
    const [step] = await model.extend([{ sequence: seq, tokens: SEQUENCE.slice(6) }], 'all');
    expectClose(step, b.subarray(6 * V), { atol: 1e-9, rtol: 0 }, 'llama3 cached extension');
  });

  it("GPT-2 adds the learned position embedding at each token's absolute position", async () => {
    await writeTinyModel(dir, 'gpt2', { seed: 12 });
    const { config, weights } = await loadModel(dir);
    const base = await allLogits(new CpuCausalLm(config, weights), SEQUENCE);
    // Rows 0 and 5 of wpe swapped: the first five positions' logits move, and so does everything after.
    const wpe = weights.positionEmbedding!.read();
    const C = config.hiddenSize;
    const swapped = wpe.slice();
    swapped.set(wpe.subarray(5 * C, 6 * C), 0);
    swapped.set(wpe.subarray(0, C), 5 * C);
    const permuted = await allLogits(
      new CpuCausalLm(config, { ...weights, positionEmbedding: constant('wpe', [config.maxPositions, C], swapped) }),
      SEQUENCE,
    );
    const V = config.vocabSize;
    const rowDiff = (t: number) => Math.max(...base.subarray(t * V, (t + 1) * V).map((v, i) => Math.abs(v - permuted[t * V + i])));
    for (const t of [0, 3, 5, 9]) expect(rowDiff(t)).toBeGreaterThan(1e-3);
    // Rows beyond the sequence are unused: changing them leaves the logits bit-identical.
    const tail = wpe.slice();
    tail.fill(5, SEQUENCE.length * C);
    const unused = await allLogits(new CpuCausalLm(config, { ...weights, positionEmbedding: constant('wpe', [config.maxPositions, C], tail) }), SEQUENCE);
    expect(unused).toEqual(base);
  });
});
