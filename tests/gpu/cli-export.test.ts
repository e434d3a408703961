// `tunelab export` as a user runs it (the command line's main in this process, on one shared device): the
// merged Hugging Face folder scored by `tunelab logits` equals the base with `--adapter` (GPU, f32 weights),
// the f16 export stays within the engine's f16 tolerance, and the ONNX folder loaded by transformers.js from
// disk writes `tunelab generate --adapter`'s greedy text.

import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/engine/model/safetensors';
import { writeAdapterDir } from '../../src/node/adapter-files';
import { worstRowError } from '../helpers/assert';
import { tunelabInProcess as tunelab } from '../helpers/cli-in-process';
import { ALL_LINEAR, randomLoraAdapter } from '../helpers/lora-fixtures';
import { loadModel, STORIES260K_DIR, writeTinyModel } from '../helpers/tiny-models';

const TEXT = 'Once upon a time there was a little girl named Lily.';
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tunelab-cli-export-'));
});
afterAll(async () => rm(work, { recursive: true, force: true }));

async function logitsOf(args: string[], out: string): Promise<{ logits: Float32Array; V: number }> {
  const r = await tunelab(['logits', ...args, '--text', TEXT, '--out', out, '--weights', 'f32', '--quiet']);
  expect(r.status, r.stderr).toBe(0);
  const t = readSafetensors(new Uint8Array(await readFile(out))).tensors.get('logits')!;
  return { logits: t.toFloat32(), V: t.shape[1] };
}


describe('tunelab export --format hf', () => {
  it("the merged folder's logits equal `tunelab logits --adapter` (1e-5 relative, f32) and f16 stays within 2e-3", async () => {
    const base = (await writeTinyModel(join(work, 'qwen2'), 'qwen2')).dir;
    const model = await loadModel(base);
    const adapterDir = join(work, 'adapter');
    await writeAdapterDir(adapterDir, randomLoraAdapter('qwen2', model.weights, { ...ALL_LINEAR, r: 4 }, 5, 0.05), base);

    const merged = join(work, 'merged');
    const r = await tunelab(['export', '--format', 'hf', '--model', base, '--adapter', adapterDir, '--out', merged]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/exported hf to .*merged: 6 files/);

    const withAdapter = await logitsOf(['--model', base, '--adapter', adapterDir], join(work, 'a.safetensors'));
    const exported = await logitsOf(['--model', merged], join(work, 'b.safetensors'));
    const plain = await logitsOf(['--model', base], join(work, 'c.safetensors'));
    const error = worstRowError(exported.logits, withAdapter.logits, withAdapter.V);
    console.log(`merged export vs --adapter on the GPU: worst row error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(1e-5);
    expect(worstRowError(plain.logits, withAdapter.logits, withAdapter.V)).toBeGreaterThan(1e-3);

    const half = join(work, 'merged-f16');
    expect((await tunelab(['export', '--format', 'hf', '--model', base, '--adapter', adapterDir, '--out', half, '--dtype', 'f16', '--quiet'])).status).toBe(0);
    const halfError = worstRowError((await logitsOf(['--model', half], join(work, 'd.safetensors'))).logits, withAdapter.logits, withAdapter.V);
    console.log(`f16 merged export vs f32 --adapter: worst row error ${halfError.toExponential(2)}`);
    expect(halfError).toBeLessThan(2e-3);
  });

  it('refuses flags that do not fit the format, naming them', async () => {
    const trl = await tunelab(['export', '--format', 'trl', '--run', work, '--model', 'x', '--out', join(work, 'x')]);
    expect(trl.status).toBe(2);
    expect(trl.stderr).toMatch(/--model does not apply to --format trl/);
    const bf = await tunelab(['export', '--format', 'onnx', '--model', 'x', '--dtype', 'bf16', '--out', join(work, 'x')]);
    expect(bf.status).toBe(2);
    expect(bf.stderr).toMatch(/--format onnx takes --dtype f32 or f16/);
  });
});

describe('tunelab export --format onnx', () => {
  it('transformers.js loads the folder from disk and writes the greedy text of `tunelab generate --adapter`', async () => {
    const model = await loadModel(STORIES260K_DIR);
    const adapterDir = join(work, 'stories-adapter');
    await writeAdapterDir(adapterDir, randomLoraAdapter('llama', model.weights, { ...ALL_LINEAR, r: 4 }, 13, 0.05), 'stories260K');
    const out = join(work, 'stories-onnx');
    const r = await tunelab(['export', '--format', 'onnx', '--model', STORIES260K_DIR, '--adapter', adapterDir, '--out', out]);
    expect(r.status, r.stderr).toBe(0);

    const prompt = 'Once upon a time, there was a little';
    const ours = await tunelab(['generate', '--model', STORIES260K_DIR, '--adapter', adapterDir, '--prompt', prompt, '--max-new-tokens', '24', '--temperature', '0', '--weights', 'f32', '--quiet']);
    expect(ours.status, ours.stderr).toBe(0);

    const { env, pipeline } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = work;
    const generator = await pipeline('text-generation', 'stories-onnx', { dtype: 'fp32', device: 'cpu' });
    const output = (await generator(prompt, { max_new_tokens: 24, do_sample: false, return_full_text: false })) as { generated_text: string }[];
    console.log(`transformers.js: ${JSON.stringify(output[0].generated_text)}\ntunelab generate: ${JSON.stringify(ours.stdout)}`);
    expect(ours.stdout.length).toBeGreaterThan(20);
    expect(`${output[0].generated_text}\n`).toBe(ours.stdout);
    await generator.dispose();
  });
});

describe('tunelab export from a training run', () => {
  it('--format trl turns the run folder into a TRL project, and --format hf cards the run it merges', async () => {
    const run = join(work, 'run');
    const train = await tunelab([
      'train', '--model', STORIES260K_DIR, '--data', 'public/datasets/stories-setting/train.jsonl', '--eval-data', 'public/datasets/stories-setting/eval.jsonl',
      '--steps', '3', '--batch-size', '2', '--lr', '0.002', '--lora-r', '4', '--eval-every', '3', '--out', run, '--quiet',
    ]);
    expect(train.status, train.stderr).toBe(0);

    const trl = join(work, 'trl');
    const exported = await tunelab(['export', '--format', 'trl', '--run', run, '--out', trl]);
    expect(exported.status, exported.stderr).toBe(0);
    const script = await readFile(join(trl, 'train.py'), 'utf8');
    expect(script).toMatch(/SFTTrainer/);
    expect(script).toMatch(/learning_rate=0\.002\b/);
    expect(script).toMatch(/\br=4\b/);
    expect(script).toMatch(/max_steps=3\b/);
    const compiled = spawnSync('python3', ['-m', 'py_compile', join(trl, 'train.py')], { encoding: 'utf8' });
    if (compiled.error) console.warn(`python3 not found (${compiled.error.message}): train.py was not compiled`);
    else expect(compiled.status, compiled.stderr).toBe(0);

    const merged = join(work, 'run-merged');
    expect((await tunelab(['export', '--format', 'hf', '--model', STORIES260K_DIR, '--adapter', run, '--out', merged, '--quiet'])).status).toBe(0);
    const card = await readFile(join(merged, 'README.md'), 'utf8');
    expect(card).toContain('- Method: SFT with LoRA');
    expect(card).toContain('- Data: train.jsonl (');
    expect(card).toContain('| lr | 0.002 |');
    expect(card).toMatch(/\| eval_loss \(step 0 → 3\) \| \d\.\d{4} \| \d\.\d{4} \|/);
  });
});
