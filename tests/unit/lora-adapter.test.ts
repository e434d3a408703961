// LoRA adapter planning (PEFT's target matching), initialisation and the PEFT file format.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adapterParameterCount, initAdapter, mergedWeight, planAdapter } from '../../src/engine/lora/adapter';
import { loraScale, type LoraConfig } from '../../src/engine/lora/lora-config';
import { adapterConfigJson, adapterKey, adapterWeightsBytes, loadPeftAdapter } from '../../src/engine/lora/peft-files';
import { readSafetensors, writeSafetensors } from '../../src/engine/model/safetensors';
import { Rng } from '../../src/engine/util/rng';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel } from '../helpers/tiny-models';

let root: string;
let llama: LoadedModel;
let gpt2: LoadedModel;

beforeAll(async () => {
  root = await makeTempDir('tunelab-lora-');
  await writeTinyModel(`${root}/llama`, 'llama');
  await writeTinyModel(`${root}/gpt2`, 'gpt2');
  llama = await loadModel(`${root}/llama`);
  gpt2 = await loadModel(`${root}/gpt2`);
});
afterAll(() => removeTempDir(root));

const cfg = (over: Partial<LoraConfig>): LoraConfig => ({ r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false, ...over });

describe('targets', () => {
  test('Llama q_proj,v_proj: one module per layer each, shapes (r, in) and (out, r)', () => {
    const c = llama.config;
    const a = planAdapter('llama', llama.weights, cfg({}));
    expect(a.modules.map((m) => m.path)).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ]);
    const q = a.modules[0];
    expect([q.inFeatures, q.outFeatures]).toEqual([c.hiddenSize, c.numHeads * c.headDim]);
    expect(a.modules[1].outFeatures).toBe(c.numKvHeads * c.headDim);
    expect(adapterParameterCount(a)).toBe(2 * 4 * (c.hiddenSize + c.numHeads * c.headDim) + 2 * 4 * (c.hiddenSize + c.numKvHeads * c.headDim));
  });

  test('GPT-2: c_attn is one module feeding q, k, v row blocks; "c_proj" hits both projections, "attn.c_proj" one', () => {
    const C = gpt2.config.hiddenSize;
    const a = planAdapter('gpt2', gpt2.weights, cfg({ targets: ['c_attn'] }));
    expect(a.modules).toHaveLength(2);
    expect(a.modules[0].path).toBe('transformer.h.0.attn.c_attn');
    expect(a.modules[0].outFeatures).toBe(3 * C);
    expect(a.modules[0].slots.map((s) => [s.slot, ...s.rows])).toEqual([['q', 0, C], ['k', C, 2 * C], ['v', 2 * C, 3 * C]]);
    expect(a.modules[0].fanInFanOut).toBe(true);
    expect(planAdapter('gpt2', gpt2.weights, cfg({ targets: ['c_proj'] })).modules.map((m) => m.path.split('.h.0.')[1]).filter(Boolean)).toEqual(['attn.c_proj', 'mlp.c_proj']);
    expect(planAdapter('gpt2', gpt2.weights, cfg({ targets: ['attn.c_proj'] })).modules).toHaveLength(2);
  });

  test('all-linear covers the seven Llama projections; unknown targets and bad ranks are refused by name', () => {
    expect(planAdapter('llama', llama.weights, cfg({ targets: ['all-linear'] })).modules).toHaveLength(14);
    expect(() => planAdapter('llama', llama.weights, cfg({ targets: ['c_attn'] }))).toThrow(/"c_attn" is not a linear module of llama/);
    expect(() => planAdapter('llama', llama.weights, cfg({ r: 0 }))).toThrow(/rank r must be a positive integer/);
    // What an import would refuse is not trained either (adapter-limits.ts MAX_LORA_RANK).
    expect(() => planAdapter('llama', llama.weights, cfg({ r: 4097 }))).toThrow("LoRA rank r must be at most 4096 (a rank above a layer's width adds nothing), got 4097");
  });

  test('scale: alpha / r, rsLoRA alpha / sqrt(r)', () => {
    expect(loraScale({ r: 16, alpha: 32, useRslora: false })).toBe(2);
    expect(loraScale({ r: 16, alpha: 32, useRslora: true })).toBe(8);
  });
});

describe('initialisation', () => {
  test('A ~ U(-1/sqrt(in), 1/sqrt(in)) filling the range, B = 0', () => {
    const a = initAdapter(planAdapter('llama', llama.weights, cfg({ r: 16 })), new Rng(3));
    const m = a.modules[0];
    const bound = 1 / Math.sqrt(m.inFeatures);
    const max = Math.max(...m.a);
    const min = Math.min(...m.a);
    expect(max).toBeLessThan(bound);
    expect(min).toBeGreaterThanOrEqual(-bound);
    expect(max).toBeGreaterThan(0.95 * bound); // 768 draws reach the edges
    expect(min).toBeLessThan(-0.95 * bound);
    expect(m.b.every((x) => x === 0)).toBe(true);
  });
});

describe('PEFT files', () => {
  test('keys, shapes, dtype, metadata and config fields are what PEFT writes', () => {
    const a = initAdapter(planAdapter('gpt2', gpt2.weights, cfg({ targets: ['c_attn', 'c_fc'], useRslora: true })), new Rng(1));
    const file = readSafetensors(adapterWeightsBytes(a));
    expect(file.metadata).toEqual({ format: 'pt' });
    const C = gpt2.config.hiddenSize;
    const A = file.tensors.get('base_model.model.transformer.h.1.attn.c_attn.lora_A.weight')!;
    const B = file.tensors.get('base_model.model.transformer.h.1.attn.c_attn.lora_B.weight')!;
    expect([A.dtype, ...A.shape]).toEqual(['F32', 4, C]);
    expect([B.dtype, ...B.shape]).toEqual(['F32', 3 * C, 4]);
    expect(file.tensors.size).toBe(8);
    const json = adapterConfigJson(a, 'tiny/gpt2');
    expect(json).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: 'tiny/gpt2',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0,
      target_modules: ['c_attn', 'c_fc'],
      bias: 'none',
      use_rslora: true,
      fan_in_fan_out: true,
    });
    expect(adapterConfigJson(planAdapter('llama', llama.weights, cfg({ targets: ['all-linear'] })), 'x').target_modules).toEqual([
      'q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj',
    ]);
  });

  test('save then load gives the same tensors; wrong shapes, missing and foreign keys are named', () => {
    const a = initAdapter(planAdapter('llama', llama.weights, cfg({})), new Rng(5));
    a.modules.forEach((m, i) => m.b.forEach((_, j) => (m.b[j] = (i + 1) * 0.01 * Math.sin(j))));
    const json = adapterConfigJson(a, 'tiny');
    const back = loadPeftAdapter(json, adapterWeightsBytes(a), 'llama', llama.weights);
    expect(back.modules.map((m) => m.path)).toEqual(a.modules.map((m) => m.path));
    back.modules.forEach((m, i) => {
      expect(m.a).toEqual(a.modules[i].a);
      expect(m.b).toEqual(a.modules[i].b);
    });
    const key = adapterKey('model.layers.1.self_attn.v_proj', 'B');
    const file = readSafetensors(adapterWeightsBytes(a));
    const tensors = Object.fromEntries([...file.tensors].map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: t.toFloat32() }]));
    const wrong = { ...tensors, [key]: { dtype: 'F32' as const, shape: [3, 4], data: new Float32Array(12) } };
    expect(() => loadPeftAdapter(json, writeSafetensors(wrong), 'llama', llama.weights)).toThrow(`adapter_model.safetensors: tensor "${key}" has shape [3, 4], expected [${llama.config.numKvHeads * llama.config.headDim}, 4]`);
    const { [key]: _dropped, ...missing } = tensors;
    expect(() => loadPeftAdapter(json, writeSafetensors(missing), 'llama', llama.weights)).toThrow(`tensor "${key}" is missing`);
    const foreign = { ...tensors, 'base_model.model.model.layers.0.mlp.up_proj.lora_A.weight': { dtype: 'F32' as const, shape: [1], data: [0] } };
    expect(() => loadPeftAdapter(json, writeSafetensors(foreign), 'llama', llama.weights)).toThrow(/up_proj.lora_A.weight" does not belong/);
    expect(() => loadPeftAdapter({ ...json, peft_type: 'IA3' }, adapterWeightsBytes(a), 'llama', llama.weights)).toThrow(/adapter_config.json: peft_type is "IA3"/);
  });

  test('mergedWeight adds scale * B A on the slot rows', () => {
    const a = initAdapter(planAdapter('gpt2', gpt2.weights, cfg({ targets: ['c_attn'], r: 2, alpha: 6 })), new Rng(9));
    const m = a.modules[0];
    m.b.forEach((_, j) => (m.b[j] = 0.1 * (j % 5) - 0.2));
    const slot = m.slots[1]; // k rows
    const w = gpt2.weights.layers[0].k.weight.read();
    const merged = mergedWeight(w, m, slot.rows, 2, a.scale);
    const inF = m.inFeatures;
    const [o, i] = [3, 7];
    const row = slot.rows[0] + o;
    const expected = w[o * inF + i] + 3 * (m.b[row * 2] * m.a[i] + m.b[row * 2 + 1] * m.a[inF + i]);
    expect(merged[o * inF + i]).toBeCloseTo(expected, 6);
  });
});

describe('mergeAdapter', () => {
  test('a merged model gives the logits of W + scale B A; a fresh adapter (B = 0) changes nothing', async () => {
    const { mergeAdapter } = await import('../../src/engine/lora/merge-weights');
    const { CpuCausalLm } = await import('../../src/engine/model/cpu-model');
    const fresh = initAdapter(planAdapter('gpt2', gpt2.weights, cfg({ targets: ['c_attn', 'c_fc'] })), new Rng(2));
    const ids = [5, 9, 100, 7];
    const logits = async (w: typeof gpt2.weights) => {
      const model = new CpuCausalLm(gpt2.config, w);
      const [out] = await model.extend([{ sequence: model.createSequence(8), tokens: ids }], 'all');
      return out;
    };
    const base = await logits(gpt2.weights);
    expect(await logits(mergeAdapter(gpt2.weights, fresh))).toEqual(base);
    fresh.modules.forEach((m) => m.b.forEach((_, j) => (m.b[j] = 0.05 * Math.cos(j))));
    const merged = mergeAdapter(gpt2.weights, fresh);
    const k = merged.layers[1].k.weight.read();
    const m = fresh.modules[2]; // layer 1 c_attn
    expect(m.path).toBe('transformer.h.1.attn.c_attn');
    expect(k).toEqual(mergedWeight(gpt2.weights.layers[1].k.weight.read(), m, m.slots[1].rows, 4, fresh.scale));
    expect(merged.layers[1].o.weight).toBe(gpt2.weights.layers[1].o.weight); // untargeted slots untouched
    expect(Math.max(...(await logits(merged)).map((x, i) => Math.abs(x - base[i])))).toBeGreaterThan(1e-3);
  });
});
