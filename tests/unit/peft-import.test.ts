// Importing PEFT adapters trained elsewhere: folders written by hand the way PEFT's save_pretrained writes
// them (adapter_config.json + adapter_model.safetensors), with rank_pattern / alpha_pattern applied exactly,
// fan_in_fan_out corrected as PEFT corrects it, PEFT's key variants read, and what Tunelab cannot run refused
// by name. Expectations are computed here in float64 from the test's own tensors, never by the loader.

import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LinearSlot } from '../../src/engine/lora/lora-config';
import { mergeAdapter } from '../../src/engine/lora/merge-weights';
import { importPeftAdapter, parseAdapterConfig } from '../../src/engine/lora/peft-files';
import { patternEntry } from '../../src/engine/lora/rank-pattern';
import { writeSafetensors, type TensorToWrite } from '../../src/engine/model/safetensors';
import { Rng } from '../../src/engine/util/rng';
import { importAdapterDir } from '../../src/node/adapter-files';
import { delta64, handMerged, handModule, importedDelta, llamaModules, logitsOf, peftConfig, peftWeights, relErr, type HandModule } from '../helpers/peft-adapters';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel } from '../helpers/tiny-models';

let root: string;
let llama: LoadedModel;
let gpt2: LoadedModel;

beforeAll(async () => {
  root = await makeTempDir('tunelab-peft-import-');
  await writeTinyModel(`${root}/llama`, 'llama');
  await writeTinyModel(`${root}/gpt2`, 'gpt2');
  llama = await loadModel(`${root}/llama`);
  gpt2 = await loadModel(`${root}/gpt2`);
});
afterAll(() => removeTempDir(root));

describe.each([false, true])('Llama with rank_pattern {"q_proj": 4} and alpha_pattern {"v_proj": 32} over r 8 / alpha 16, use_rslora %s', (rslora) => {
  const rankOf = (p: string) => (p.endsWith('q_proj') ? 4 : 8);
  const alphaOf = (p: string) => (p.endsWith('v_proj') ? 32 : 16);

  test('each module runs as s_m B_m A_m: deltas to 1e-7, merged weights and CPU logits as a float64 merge', async () => {
    const modules = llamaModules(llama.config, ['q_proj', 'v_proj', 'o_proj'], rankOf, alphaOf, rslora ? 11 : 12);
    const config = peftConfig({ target_modules: ['q_proj', 'v_proj', 'o_proj'], rank_pattern: { q_proj: 4 }, alpha_pattern: { v_proj: 32 }, use_rslora: rslora });
    const { adapter, notes, warnings } = importPeftAdapter(config, peftWeights(modules), 'llama', llama.weights);
    expect(adapter.config).toMatchObject({ r: 8, alpha: 16, useRslora: rslora, dropout: 0.05 });
    expect(adapter.scale).toBe(rslora ? 16 / Math.sqrt(8) : 2);
    expect(adapter.modules.map((m) => m.path)).toEqual(modules.map((m) => m.path));
    expect(warnings).toEqual([]);
    expect(notes[0]).toBe('rank_pattern: 2 modules at r=4, 4 at r=8; run at rank 8, smaller ranks zero-padded');
    expect(notes[1]).toBe('alpha_pattern: 4 modules at lora_alpha=16, 2 at lora_alpha=32');
    expect(notes[2]).toMatch(/^module scales .* folded into lora_B against the run's scale/);

    let worstDelta = 0;
    adapter.modules.forEach((m, i) => {
      const hand = modules[i];
      worstDelta = Math.max(worstDelta, relErr(importedDelta(m.a, m.b, 8, m.inFeatures, m.outFeatures, adapter.scale), delta64(hand, rslora)));
      if (hand.r < 8) {
        // Zero padding: A rows r_m..R-1 and B columns r_m..R-1.
        expect(m.a.subarray(hand.r * m.inFeatures).every((x) => x === 0)).toBe(true);
        for (let o = 0; o < m.outFeatures; o++) for (let k = hand.r; k < 8; k++) expect(m.b[o * 8 + k]).toBe(0);
      }
    });
    expect(worstDelta).toBeLessThan(1e-7);

    const hand = handMerged(llama.weights, modules, rslora);
    const merged = mergeAdapter(llama.weights, adapter);
    for (const [where, expected] of hand.expected) {
      const [layer, slot] = where.split('.') as [string, LinearSlot];
      expect(relErr(merged.layers[+layer][slot]!.weight.read(), expected)).toBeLessThan(1e-6);
    }
    const base = await logitsOf(llama, llama.weights);
    const want = await logitsOf(llama, hand.weights);
    const got = await logitsOf(llama, merged);
    expect(relErr(got, want)).toBeLessThan(1e-6);
    expect(relErr(base, want)).toBeGreaterThan(1e-2); // the adapter changes the logits

    // Ignoring alpha_pattern (v_proj at alpha 16) would be visibly wrong.
    const ignored = handMerged(llama.weights, modules.map((m) => ({ ...m, alpha: 16 })), rslora);
    expect(relErr(await logitsOf(llama, ignored.weights), want)).toBeGreaterThan(1e-3);
  });
});

describe('pattern keys match as PEFT matches', () => {
  test('"(.*\\.)?(key)$" against the full module name: suffixes at a dot boundary, full paths, regexes', () => {
    const at = (keys: string[], path: string) => patternEntry(keys.map((key) => ({ key, value: 1 })), path)?.key;
    const q0 = 'model.layers.0.self_attn.q_proj';
    expect(at(['q_proj'], q0)).toBe('q_proj');
    expect(at(['self_attn.q_proj'], q0)).toBe('self_attn.q_proj');
    expect(at([q0], q0)).toBe(q0);
    expect(at(['proj'], q0)).toBeUndefined(); // "q_proj" does not end in ".proj"
    expect(at(['elf_attn.q_proj'], q0)).toBeUndefined();
    expect(at(['.*proj'], q0)).toBe('.*proj');
    expect(at(['layers\\.1\\..*q_proj'], q0)).toBeUndefined();
    expect(at(['layers\\.1\\..*q_proj'], 'model.layers.1.self_attn.q_proj')).toBe('layers\\.1\\..*q_proj');
    expect(at(['model.layers.1.self_attn.q_proj'], 'model.layers.11.self_attn.q_proj')).toBeUndefined();
    expect(at(['q_proj', q0], q0)).toBe('q_proj'); // the first key in dict order wins
    expect(at([q0, 'q_proj'], q0)).toBe(q0);
  });

  test('full-path and regex keys give their modules their ranks; a rank above r raises the run rank; unused keys warned', async () => {
    const rankPattern = { 'model.layers.0.self_attn.q_proj': 2, 'layers\\.1\\..*q_proj': 12, q_proj: 5, nothing_proj: 3 };
    const alphaPattern = { 'model\\.layers\\.1\\.self_attn\\.v_proj': 4 };
    const rankOf = (p: string) => (p === 'model.layers.0.self_attn.q_proj' ? 2 : p === 'model.layers.1.self_attn.q_proj' ? 12 : 8);
    const alphaOf = (p: string) => (p === 'model.layers.1.self_attn.v_proj' ? 4 : 16);
    const modules = llamaModules(llama.config, ['q_proj', 'v_proj'], rankOf, alphaOf, 21);
    const { adapter, notes, warnings } = importPeftAdapter(peftConfig({ rank_pattern: rankPattern, alpha_pattern: alphaPattern }), peftWeights(modules), 'llama', llama.weights);
    expect(adapter.config.r).toBe(12);
    expect(adapter.scale).toBe(16 / 12);
    expect(notes[0]).toBe('rank_pattern: 1 module at r=2, 2 at r=8, 1 at r=12; run at rank 12, smaller ranks zero-padded');
    expect(warnings).toEqual([
      'adapter_config.json: rank_pattern key "q_proj" applies to no targeted module (PEFT ignores it too)',
      'adapter_config.json: rank_pattern key "nothing_proj" applies to no targeted module (PEFT ignores it too)',
    ]);
    adapter.modules.forEach((m, i) => {
      expect(m.a.length).toBe(12 * m.inFeatures);
      expect(relErr(importedDelta(m.a, m.b, 12, m.inFeatures, m.outFeatures, adapter.scale), delta64(modules[i], false))).toBeLessThan(1e-7);
    });
    const want = await logitsOf(llama, handMerged(llama.weights, modules, false).weights);
    expect(relErr(await logitsOf(llama, mergeAdapter(llama.weights, adapter)), want)).toBeLessThan(1e-6);
  });

  test("a tensor's shape must be its module's own rank, named with where the rank comes from", () => {
    const modules = llamaModules(llama.config, ['q_proj', 'v_proj'], () => 8, () => 16, 31); // written as if the pattern were ignored
    expect(() => importPeftAdapter(peftConfig({ rank_pattern: { q_proj: 4 } }), peftWeights(modules), 'llama', llama.weights)).toThrow(
      'adapter_model.safetensors: tensor "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" has shape [8, 48], expected [4, 48] (r=4 from rank_pattern "q_proj")',
    );
  });

  test('parseAdapterConfig (forms, memory estimates) gives the largest rank the patterns can ask for', () => {
    expect(parseAdapterConfig(peftConfig({ rank_pattern: { q_proj: 4, 'layers.1.v_proj': 16 } }))).toEqual({ r: 16, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'], useRslora: false });
    expect(parseAdapterConfig(peftConfig({})).r).toBe(8);
  });
});

describe('GPT-2 and fan_in_fan_out', () => {
  /** c_attn and both c_proj per layer, attn.c_proj at rank 2 by rank_pattern "attn.c_proj". */
  function gpt2Modules(): HandModule[] {
    const C = gpt2.config.hiddenSize;
    const rng = new Rng(41);
    const out: HandModule[] = [];
    for (let l = 0; l < gpt2.config.numLayers; l++) {
      const h = `transformer.h.${l}`;
      out.push(handModule(`${h}.attn.c_attn`, [[l, 'q', 0, C], [l, 'k', C, 2 * C], [l, 'v', 2 * C, 3 * C]], 8, 16, C, 3 * C, rng));
      out.push(handModule(`${h}.attn.c_proj`, [[l, 'o', 0, C]], 2, 16, C, C, rng));
      out.push(handModule(`${h}.mlp.c_proj`, [[l, 'down', 0, C]], 8, 16, gpt2.config.intermediateSize, C, rng));
    }
    return out;
  }

  test('true (as PEFT writes for Conv1D) and false (PEFT corrects it with a warning) import the same adapter, equal to a float64 merge', async () => {
    const modules = gpt2Modules();
    const weights = peftWeights(modules);
    const over = { target_modules: ['c_attn', 'c_proj'], rank_pattern: { 'attn.c_proj': 2 } };
    const right = importPeftAdapter(peftConfig({ ...over, fan_in_fan_out: true }), weights, 'gpt2', gpt2.weights);
    const wrong = importPeftAdapter(peftConfig({ ...over, fan_in_fan_out: false }), weights, 'gpt2', gpt2.weights);
    expect(right.warnings).toEqual([]);
    expect(wrong.warnings).toHaveLength(1);
    expect(wrong.warnings[0]).toMatch(/^adapter_config\.json: fan_in_fan_out is false but transformer\.h\.0\.attn\.c_attn and the like are Conv1D layers .*: applied as true/);
    expect(wrong.adapter.modules.map((m) => [m.a, m.b])).toEqual(right.adapter.modules.map((m) => [m.a, m.b]));
    expect(right.adapter.modules.map((m) => m.path)).toEqual(modules.map((m) => m.path));

    const hand = handMerged(gpt2.weights, modules, false);
    const merged = mergeAdapter(gpt2.weights, right.adapter);
    expect(hand.expected.size).toBe(5 * gpt2.config.numLayers);
    for (const [where, expected] of hand.expected) {
      const [layer, slot] = where.split('.') as [string, LinearSlot];
      expect(relErr(merged.layers[+layer][slot]!.weight.read(), expected)).toBeLessThan(1e-6);
    }
    expect(relErr(await logitsOf(gpt2, merged), await logitsOf(gpt2, hand.weights))).toBeLessThan(1e-6);
  });

  test('fan_in_fan_out true on Llama (nn.Linear) is corrected to false with a warning', () => {
    const modules = llamaModules(llama.config, ['q_proj', 'v_proj'], () => 8, () => 16, 51);
    const { warnings } = importPeftAdapter(peftConfig({ fan_in_fan_out: true }), peftWeights(modules), 'llama', llama.weights);
    expect(warnings).toEqual([
      'adapter_config.json: fan_in_fan_out is true but model.layers.0.self_attn.q_proj and the like are nn.Linear layers: applied as false, as PEFT corrects it (lora_A and lora_B mean the same either way)',
    ]);
  });
});

describe('tensor names real tools write', () => {
  const modules = () => llamaModules(llama.config, ['q_proj', 'v_proj'], () => 8, () => 16, 61);

  test('with the adapter name (".default") or without the "base_model.model." prefix: the same adapter', () => {
    const mods = modules();
    const plain = importPeftAdapter(peftConfig({}), peftWeights(mods), 'llama', llama.weights).adapter;
    const variants = [
      (p: string, w: 'A' | 'B') => `base_model.model.${p}.lora_${w}.default.weight`,
      (p: string, w: 'A' | 'B') => `${p}.lora_${w}.weight`,
    ];
    for (const keyOf of variants) {
      const back = importPeftAdapter(peftConfig({}), peftWeights(mods, keyOf), 'llama', llama.weights).adapter;
      expect(back.modules.map((m) => [m.path, m.a, m.b])).toEqual(plain.modules.map((m) => [m.path, m.a, m.b]));
    }
    expect(plain.modules[0].b).toEqual(mods[0].b); // same rank and scale: B as written
  });

  test('the same weight twice, and tensors of what Tunelab cannot run, are refused naming the tensor', () => {
    const good = peftWeights(modules());
    const q = 'base_model.model.model.layers.0.self_attn.q_proj';
    const withExtra = (name: string, shape: number[]) => {
      const mods = modules();
      const tensors: Record<string, TensorToWrite> = { [name]: { dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) } };
      for (const m of mods) {
        tensors[`base_model.model.${m.path}.lora_A.weight`] = { dtype: 'F32', shape: [m.r, m.inF], data: m.a };
        tensors[`base_model.model.${m.path}.lora_B.weight`] = { dtype: 'F32', shape: [m.outF, m.r], data: m.b };
      }
      return writeSafetensors(tensors);
    };
    const refuse = (name: string, what: RegExp) =>
      expect(() => importPeftAdapter(peftConfig({}), withExtra(name, [4]), 'llama', llama.weights)).toThrow(new RegExp(`adapter_model\\.safetensors: tensor "${name.replace(/\./g, '\\.')}" is .*${what.source}`));
    refuse(`${q}.lora_magnitude_vector`, /DoRA/);
    refuse('base_model.model.model.embed_tokens.lora_embedding_A', /embedding adapter/);
    refuse('base_model.model.model.embed_tokens.lora_embedding_B', /embedding adapter/);
    refuse(`${q}.lora_B.bias`, /lora_bias/);
    refuse(`${q}.bias`, /trained bias/);
    refuse('base_model.model.model.embed_tokens.weight', /embedding or LM-head weight/);
    refuse('base_model.model.lm_head.weight', /embedding or LM-head weight/);
    refuse('base_model.model.lm_head.modules_to_save.weight', /modules_to_save/);
    refuse('base_model.model.model.embed_tokens.trainable_tokens_delta', /trainable_token_indices/);
    refuse(`${q}.lora_A.weight_scale`, /not a LoRA weight/);
    expect(() => importPeftAdapter(peftConfig({}), withExtra(`${q}.lora_A.default.weight`, [8, 48]), 'llama', llama.weights)).toThrow(
      `tensors "${q}.lora_A.default.weight" and "${q}.lora_A.weight" are the same LoRA weight`,
    );
    expect(() => importPeftAdapter(peftConfig({}), withExtra('base_model.model.model.layers.0.mlp.up_proj.lora_A.weight', [8, 48]), 'llama', llama.weights)).toThrow(
      'tensor "base_model.model.model.layers.0.mlp.up_proj.lora_A.weight" does not belong to any targeted module',
    );
    expect(importPeftAdapter(peftConfig({}), good, 'llama', llama.weights).adapter.modules).toHaveLength(4);
  });
});

describe('adapter_config.json fields Tunelab cannot run are refused by name', () => {
  const weights = () => peftWeights(llamaModules(llama.config, ['q_proj', 'v_proj'], () => 8, () => 16, 71));
  const refusals: [string, unknown][] = [
    ['use_dora', true],
    ['modules_to_save', ['lm_head', 'embed_tokens']],
    ['layers_to_transform', [0]],
    ['layers_pattern', 'layers'],
    ['exclude_modules', ['model.layers.0.self_attn.q_proj']],
    ['lora_bias', true],
    ['use_qalora', true],
    ['trainable_token_indices', [1, 2]],
    ['megatron_config', { tensor_model_parallel_size: 2 }],
    ['layer_replication', [[0, 2], [1, 2]]],
    ['target_parameters', ['mlp.experts.down_proj']],
    ['alora_invocation_tokens', [5, 6]],
    ['velora_config', { rank: 4 }],
    ['monteclora_config', { n: 2 }],
    ['use_bdlora', { nblocks: 2 }],
    ['arrow_config', { top_k: 2 }],
    ['kasa_config', { beta: 1 }],
    ['bias', 'all'],
    ['bias', 'lora_only'],
    ['init_lora_weights', 'pissa'],
    ['init_lora_weights', 'pissa_niter_4'],
    ['init_lora_weights', 'olora'],
    ['init_lora_weights', 'loftq'],
    ['init_lora_weights', 'mica'],
    ['target_modules', '.*\\.(q_proj|v_proj)$'],
    ['target_modules', ['q_proj', 'embed_tokens']],
    ['target_modules', ['q_proj', 'lm_head']],
    ['target_modules', ['q_proj', 'dense']],
    ['rank_pattern', { q_proj: 0 }],
    ['rank_pattern', { '(?P<name>q_proj)': 4 }],
    ['alpha_pattern', { v_proj: 'big' }],
    ['r', 0],
    ['lora_alpha', -1],
  ];

  test.each(refusals)('%s = %j', (field, value) => {
    expect(() => importPeftAdapter(peftConfig({ [field]: value }), weights(), 'llama', llama.weights)).toThrow(`adapter_config.json: field "${field}"`);
  });

  test('unset values of those fields, harmless initialisations and metadata are accepted; unknown set fields warned', () => {
    const accepted = peftConfig({
      modules_to_save: [],
      layers_to_transform: null,
      exclude_modules: null,
      trainable_token_indices: null,
      lora_bias: false,
      use_qalora: false,
      qalora_group_size: 16,
      init_lora_weights: 'gaussian',
      eva_config: null,
      corda_config: null,
      target_modules: 'all-linear',
      ensure_weight_tying: false,
      revision: null,
      auto_mapping: null,
      some_future_field: null,
      another_future_field: { x: 1 },
    });
    const all = llamaModules(llama.config, ['q_proj', 'k_proj', 'v_proj', 'o_proj'], () => 8, () => 16, 81);
    // all-linear also covers the MLP: give it those modules too.
    const c = llama.config;
    const rng = new Rng(82);
    for (let l = 0; l < c.numLayers; l++) {
      all.push(handModule(`model.layers.${l}.mlp.gate_proj`, [[l, 'gate', 0, c.intermediateSize]], 8, 16, c.hiddenSize, c.intermediateSize, rng));
      all.push(handModule(`model.layers.${l}.mlp.up_proj`, [[l, 'up', 0, c.intermediateSize]], 8, 16, c.hiddenSize, c.intermediateSize, rng));
      all.push(handModule(`model.layers.${l}.mlp.down_proj`, [[l, 'down', 0, c.hiddenSize]], 8, 16, c.intermediateSize, c.hiddenSize, rng));
    }
    const { adapter, notes, warnings } = importPeftAdapter(accepted, peftWeights(all), 'llama', llama.weights);
    expect(adapter.modules).toHaveLength(14);
    expect(notes).toEqual([]);
    expect(warnings).toEqual(['adapter_config.json: field "another_future_field" is unknown to Tunelab and was ignored']);
    expect(() => importPeftAdapter({ ...accepted, peft_type: 'IA3' }, peftWeights(all), 'llama', llama.weights)).toThrow('adapter_config.json: peft_type is "IA3"');
  });
});

describe('adapter folders on disk', () => {
  test('importAdapterDir returns the notes and warnings the CLI prints', async () => {
    const dir = join(root, 'adapter-rank-pattern');
    await mkdir(dir, { recursive: true });
    const modules = llamaModules(llama.config, ['q_proj', 'v_proj'], (p) => (p.endsWith('q_proj') ? 4 : 8), () => 16, 91);
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(peftConfig({ rank_pattern: { q_proj: 4 }, fan_in_fan_out: true })));
    await writeFile(join(dir, 'adapter_model.safetensors'), peftWeights(modules));
    const imported = await importAdapterDir(dir, 'llama', llama.weights);
    expect(imported.adapter.config.r).toBe(8);
    expect(imported.notes).toEqual([
      'rank_pattern: 2 modules at r=4, 2 at r=8; run at rank 8, smaller ranks zero-padded',
      "module scales 2, 4 folded into lora_B against the run's scale 2",
    ]);
    expect(imported.warnings).toHaveLength(1);
    expect(imported.warnings[0]).toMatch(/fan_in_fan_out is true/);
  });

  test('files over the size limits are refused from their size, before they are read', async () => {
    const dir = join(root, 'adapter-oversized');
    await mkdir(dir, { recursive: true });
    const modules = llamaModules(llama.config, ['q_proj', 'v_proj'], () => 8, () => 16, 92);
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(peftConfig({})));
    // A sparse 3 GiB file: reading it would take the memory; its size alone refuses it.
    await writeFile(join(dir, 'adapter_model.safetensors'), peftWeights(modules));
    await truncate(join(dir, 'adapter_model.safetensors'), 3 * 2 ** 30);
    await expect(importAdapterDir(dir, 'llama', llama.weights)).rejects.toThrow(
      `${join(dir, 'adapter_model.safetensors')}: is 3 GiB (3221225472 bytes), over the 1 GiB (1073741824 bytes) limit for an adapter's weights`,
    );
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(peftConfig({})).padEnd(2 ** 20 + 1, ' '));
    await expect(importAdapterDir(dir, 'llama', llama.weights)).rejects.toThrow(
      `${join(dir, 'adapter_config.json')}: is 1 MiB (1048577 bytes), over the 1 MiB (1048576 bytes) limit for an adapter_config.json`,
    );
  });

  test("a config written by Python's json.dumps with lora_alpha NaN names the field", async () => {
    const dir = join(root, 'adapter-nan');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(peftConfig({})).replace('"lora_alpha":16', '"lora_alpha":NaN'));
    await writeFile(join(dir, 'adapter_model.safetensors'), peftWeights(llamaModules(llama.config, ['q_proj', 'v_proj'], () => 8, () => 16, 93)));
    await expect(importAdapterDir(dir, 'llama', llama.weights)).rejects.toThrow('adapter_config.json: field "lora_alpha" must be a positive finite number, got NaN');
  });
});
