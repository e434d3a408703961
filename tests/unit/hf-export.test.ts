// The merged Hugging Face export: written, loaded back by the product's own loader as a plain model, and run
// by the CPU reference, against the base with the adapter merged in memory; shards, dtypes and the model card.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hfExportFiles, type ExportDtype } from '../../src/engine/export/hf-export';
import { readExportFile } from '../../src/engine/export/export-file';
import { cardEvaluations, licenseFromCard } from '../../src/engine/export/model-card';
import type { LoraAdapter } from '../../src/engine/lora/adapter';
import { mergeAdapter } from '../../src/engine/lora/merge-weights';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { readSafetensors } from '../../src/engine/model/safetensors';
import { writeExportFiles } from '../../src/node/write-export';
import { worstRowError } from '../helpers/assert';
import { ALL_LINEAR, randomLoraAdapter } from '../helpers/lora-fixtures';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel, type TinyKind, type TinyModelOptions } from '../helpers/tiny-models';

const IDS = [1, 403, 261, 378, 43, 300, 12, 77];
const card = { baseModel: 'tiny-base', license: 'mit', training: { method: 'sft', adapterName: 'my-adapter', datasetName: 'stories.jsonl', datasetSize: 64, hyperparameters: { r: 4, lr: 0.001 } }, evaluation: [{ name: 'eval_loss', base: 2.5, tuned: 1.75 }] };

async function logits(model: { config: LoadedModel['config']; weights: LoadedModel['weights'] }): Promise<Float32Array> {
  const cpu = new CpuCausalLm(model.config, model.weights);
  const [out] = await cpu.extend([{ sequence: cpu.createSequence(IDS.length), tokens: IDS }], 'all');
  return out;
}


let root: string;
beforeAll(async () => {
  root = await makeTempDir('tunelab-hf-export-');
});
afterAll(async () => removeTempDir(root));

async function setup(name: string, kind: TinyKind, options: TinyModelOptions = {}) {
  const base = await loadModel((await writeTinyModel(join(root, `${name}-base`), kind, options)).dir);
  const adapter = randomLoraAdapter(base.config.architecture, base.weights, { ...ALL_LINEAR, r: 4 }, 3, 0.05);
  const expected = await logits({ config: base.config, weights: mergeAdapter(base.weights, adapter) });
  return { base, adapter, expected };
}

async function exportAndLoad(name: string, base: LoadedModel, adapter: LoraAdapter | undefined, dtype: ExportDtype, maxShardBytes?: number) {
  const dir = join(root, name);
  const files = hfExportFiles(base.files, adapter, { dtype, maxShardBytes, card });
  await writeExportFiles(dir, files);
  return { dir, files, model: await loadModel(dir) };
}

describe('merged Hugging Face export', () => {
  const kinds: [string, TinyKind, TinyModelOptions][] = [
    ['llama', 'llama', {}],
    ['qwen2', 'qwen2', {}],
    ['gpt2', 'gpt2', {}],
    ['gpt2-unprefixed', 'gpt2', { unprefixed: true }],
  ];
  for (const [name, kind, options] of kinds) {
    it(`${name}: loads back as a plain model whose logits equal the base with the adapter (f32)`, async () => {
      const { base, adapter, expected } = await setup(name, kind, options);
      const { model } = await exportAndLoad(`${name}-f32`, base, adapter, 'f32');
      // Same tensor names and shapes as the base checkpoint, so transformers reads it as the base's class.
      const baseNames = base.files.weights.flatMap((f) => [...f.tensors.keys()]).sort();
      expect(model.files.weights.flatMap((f) => [...f.tensors.keys()]).sort()).toEqual(baseNames);
      const error = worstRowError(await logits(model), expected, base.config.vocabSize);
      console.log(`${name}: merged export vs in-memory merge, worst row error ${error.toExponential(2)}`);
      expect(error).toBeLessThan(1e-5);
      // And the adapter really changed the model: the base alone is far off.
      expect(worstRowError(await logits(base), expected, base.config.vocabSize)).toBeGreaterThan(1e-3);
    });
  }

  it('f16 and bf16 exports stay within the engine\'s f16 tolerance and record their dtype', async () => {
    const { base, adapter, expected } = await setup('dtypes', 'llama');
    for (const [dtype, tolerance, torch] of [['f16', 2e-3, 'float16'], ['bf16', 2e-2, 'bfloat16']] as const) {
      const { dir, model } = await exportAndLoad(`dtype-${dtype}`, base, adapter, dtype);
      const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
      expect(config.torch_dtype).toBe(torch);
      expect([...model.files.weights[0].tensors.values()].every((t) => t.dtype === dtype.toUpperCase())).toBe(true);
      const error = worstRowError(await logits(model), expected, base.config.vocabSize);
      console.log(`${dtype} export: worst row error ${error.toExponential(2)} (tolerance ${tolerance})`);
      expect(error).toBeLessThan(tolerance);
      expect(error).toBeGreaterThan(1e-7);
    }
  });

  it('shards above max_shard_size with model.safetensors.index.json, and loads back the same', async () => {
    const { base, adapter, expected } = await setup('sharded', 'qwen2');
    const { dir, files, model } = await exportAndLoad('sharded', base, adapter, 'f32', 40_000);
    const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f.path));
    expect(shards.length).toBeGreaterThan(2);
    expect(shards.map((f) => f.path)).toEqual(shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`));
    expect(await readdir(dir)).not.toContain('model.safetensors');
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
    let dataBytes = 0;
    for (const shard of shards) {
      const file = readSafetensors(await readExportFile(shard), shard.path);
      for (const [name, t] of file.tensors) {
        expect(index.weight_map[name]).toBe(shard.path);
        dataBytes += t.bytes.byteLength;
      }
    }
    expect(index.metadata.total_size).toBe(dataBytes);
    expect(worstRowError(await logits(model), expected, base.config.vocabSize)).toBeLessThan(1e-5);
  });

  it('refuses an f16 export of a weight beyond the f16 range, naming the tensor', async () => {
    const { base } = await setup('overflow', 'llama');
    const adapter = randomLoraAdapter(base.config.architecture, base.weights, { ...ALL_LINEAR, r: 4, targets: ['q_proj'] }, 3, 0.05);
    adapter.modules[0].b.fill(0);
    adapter.modules[0].b[0] = 1e6; // row 0 of layer 0's q_proj grows past 65504
    adapter.modules[0].a.fill(1);
    const files = hfExportFiles(base.files, adapter, { dtype: 'f16', card });
    const weights = files.find((f) => f.path === 'model.safetensors')!;
    await expect(readExportFile(weights)).rejects.toThrow(/model\.layers\.0\.self_attn\.q_proj\.weight.*F16 cannot store/);
    // f32 takes it.
    await expect(readExportFile(hfExportFiles(base.files, adapter, { dtype: 'f32', card }).find((f) => f.path === 'model.safetensors')!)).resolves.toBeInstanceOf(Uint8Array);
  });

  it('writes the tokenizer, generation config and a model card with the run\'s facts', async () => {
    const { base, adapter } = await setup('card', 'llama');
    const { dir, files } = await exportAndLoad('card', base, adapter, 'f16');
    expect(files.map((f) => f.path).sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'))).toEqual(base.files.tokenizer);
    expect(JSON.parse(await readFile(join(dir, 'generation_config.json'), 'utf8'))).toEqual(base.files.generationConfig);
    const readme = await readFile(join(dir, 'README.md'), 'utf8');
    expect(licenseFromCard(readme)).toBe('mit');
    expect(readme).toMatch(/^---\nbase_model: "tiny-base"\n/);
    expect(readme).toContain('tiny-base + my-adapter');
    expect(readme).toContain('stories.jsonl (64 training examples)');
    expect(readme).toContain('| lr | 0.001 |');
    expect(readme).toContain('| eval_loss | 2.5000 | 1.7500 |');
    expect(readme).toContain('safetensors, f16');
  });
});

describe('model card evaluations', () => {
  it('takes the first and last scored evaluations, the base only from step 0, and leaves out GRPO\'s eval_loss', () => {
    const rows = [
      { step: 0, eval_loss: 2.5, eval_reward: 0.1 },
      { step: 3, loss: 1.9 }, // a training row: no held-out metric
      { step: 10, eval_loss: 2.0, eval_reward: 0.4 },
      { step: 20, eval_loss: 1.5, eval_reward: 0.5 },
    ];
    expect(cardEvaluations(rows, 'sft')).toEqual([
      { name: 'eval_loss (step 0 → 20)', base: 2.5, tuned: 1.5 },
      { name: 'eval_reward (step 0 → 20)', base: 0.1, tuned: 0.5 },
    ]);
    expect(cardEvaluations(rows, 'grpo').map((e) => e.name)).toEqual(['eval_reward (step 0 → 20)']);
    expect(cardEvaluations(rows.slice(1), 'dpo')).toEqual([
      { name: 'eval_loss (step 10 → 20)', base: undefined, tuned: 1.5 },
      { name: 'eval_reward (step 10 → 20)', base: undefined, tuned: 0.5 },
    ]);
    expect(cardEvaluations([{ step: 1, loss: 2 }], 'sft')).toEqual([]);
  });
});
