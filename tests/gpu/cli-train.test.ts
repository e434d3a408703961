// `tunelab train`, `tunelab logits --adapter` and `tunelab eval` as a user runs them (the command line's main
// on dawn.node, in this process on one shared device), checked against the float64 CPU reference: K AdamW
// steps from an --init-adapter, adapter logits against hand-merged weights, overfitting, and resume.

import { appendFile, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initAdapter, mergedWeight, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../src/engine/model/safetensors';
import { buildCpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { cpuTrainSteps } from '../../src/engine/train/cpu/cpu-train-step';
import { shiftedLabels } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import { readAdapterDir, writeAdapterDir } from '../../src/node/adapter-files';
import { relativeError } from '../helpers/assert';
import { readMetrics, type CliRun, type MetricsRow } from '../helpers/cli';
import { tunelabInProcess } from '../helpers/cli-in-process';
import { loadModel, STORIES260K_DIR, writeTinyModel, type LoadedModel } from '../helpers/tiny-models';

type Run = CliRun;

/** Every command runs with --quiet: only errors reach stderr. */
const tunelab = (args: string[]) => tunelabInProcess([...args, '--quiet']);

async function ok(args: string[]): Promise<Run> {
  const r = await tunelab(args);
  expect(r.status, r.stderr).toBe(0);
  return r;
}


let work: string;
let stories: LoadedModel;

/** PEFT's init with B made non-zero, as an adapter after some training would be. */
function trainedAdapter(loaded: LoadedModel, seed: number, targets = ['all-linear']): LoraAdapter {
  const rng = new Rng(seed);
  const adapter = initAdapter(planAdapter(loaded.config.architecture, loaded.weights, { r: 4, alpha: 8, dropout: 0, targets, useRslora: false }), rng);
  for (const m of adapter.modules) m.b.set(rng.normals(m.b.length, 0.1));
  return adapter;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tunelab-cli-train-'));
  stories = await loadModel(STORIES260K_DIR);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('tunelab train against the float64 reference', () => {
  it('K = 4 AdamW steps from an --init-adapter (one pre-tokenized example, batch 1, no clipping, constant lr) equal cpuTrainSteps', async () => {
    const init = trainedAdapter(stories, 3);
    const initDir = join(work, 'init');
    await writeAdapterDir(initDir, init, 'stories260K');
    const rng = new Rng(8);
    const inputIds = [1, ...Array.from({ length: 23 }, () => 3 + rng.int(500))];
    const completionMask = inputIds.map((_, t) => (t >= 6 ? 1 : 0));
    await writeFile(join(work, 'one.jsonl'), `${JSON.stringify({ input_ids: inputIds, completion_mask: completionMask })}\n`);
    const out = join(work, 'k-steps');
    const hyper = { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 0 };
    await ok([
      'train', '--model', STORIES260K_DIR, '--init-adapter', initDir, '--data', join(work, 'one.jsonl'), '--eval-split', '0',
      '--batch-size', '1', '--max-grad-norm', '0', '--scheduler', 'constant', '--lr', String(hyper.lr), '--weight-decay', '0.01',
      '--steps', '4', '--weights', 'f32', '--out', out,
    ]);
    const ref = cpuTrainSteps(buildCpuTrainModel(stories.config, stories.weights), init, { sequences: [{ inputIds: Int32Array.from(inputIds), labels: shiftedLabels(inputIds, completionMask) }] }, hyper, 4);
    const saved = await readAdapterDir(out, 'llama', stories.weights);
    let worst = 0;
    saved.modules.forEach((m, i) => {
      worst = Math.max(worst, relativeError(m.a, ref.adapter.modules[i].a), relativeError(m.b, ref.adapter.modules[i].b));
    });
    console.log(`4 steps: worst relative error of A/B vs float64: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    // The adapter really moved: a no-op training would leave B at its initial values.
    expect(relativeError(saved.modules[0].b, init.modules[0].b)).toBeGreaterThan(1e-3);
    const rows = (await readMetrics(out)).filter((r) => r.loss !== undefined);
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(Math.abs(rows[0].loss! - ref.losses[0]) / ref.losses[0]).toBeLessThan(1e-5);
    const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
  });
});

describe('tunelab logits --adapter', () => {
  it('a fresh adapter (B = 0) gives the base logits bit for bit; a trained one equals W + scale B A merged by hand', async () => {
    const ids = '1,403,407,261,378,432,383,286,44,90';
    const logitsOf = async (args: string[], name: string) => {
      const file = join(work, `${name}.safetensors`);
      await ok(['logits', '--ids', ids, '--weights', 'f32', '--out', file, ...args]);
      return readSafetensors(new Uint8Array(await readFile(file))).tensors.get('logits')!.toFloat32();
    };
    const base = await logitsOf(['--model', STORIES260K_DIR], 'base');
    const freshDir = join(work, 'fresh');
    await writeAdapterDir(freshDir, initAdapter(planAdapter('llama', stories.weights, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'], useRslora: false }), new Rng(1)), 'stories260K');
    expect(await logitsOf(['--model', STORIES260K_DIR, '--adapter', freshDir], 'fresh')).toEqual(base);

    const adapter = trainedAdapter(stories, 5, ['q_proj', 'v_proj', 'o_proj', 'up_proj']);
    const adapterDir = join(work, 'trained');
    await writeAdapterDir(adapterDir, adapter, 'stories260K');
    // The merged model: stories260K's files with every adapted weight replaced by W + scale B A.
    const mergedDir = join(work, 'merged');
    await mkdir(mergedDir);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) await copyFile(join(STORIES260K_DIR, f), join(mergedDir, f));
    const original = readSafetensors(new Uint8Array(await readFile(join(STORIES260K_DIR, 'model.safetensors'))));
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, t] of original.tensors) tensors[name] = { dtype: 'F32', shape: t.shape, data: t.toFloat32() };
    for (const m of adapter.modules) {
      const w = tensors[`${m.path}.weight`];
      tensors[`${m.path}.weight`] = { ...w, data: mergedWeight(Float32Array.from(w.data), m, [0, m.outFeatures], 4, adapter.scale) };
    }
    await writeFile(join(mergedDir, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
    const merged = await logitsOf(['--model', mergedDir], 'merged');
    const withAdapter = await logitsOf(['--model', STORIES260K_DIR, '--adapter', adapterDir], 'adapted');
    const err = relativeError(withAdapter, merged);
    console.log(`adapter vs hand-merged logits: ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
    expect(relativeError(withAdapter, base)).toBeGreaterThan(1e-3);
  });
});

describe('training runs', () => {
  let tinyDir: string;
  beforeAll(async () => {
    tinyDir = join(work, 'tiny-llama');
    await writeTinyModel(tinyDir, 'llama');
  });

  // 30 steps show "within 200" (it gets there at step 16) and keep the test short on SwiftShader.
  it('overfits 8 examples: the loss falls below 5% of its start within 200 steps', async () => {
    const rng = new Rng(21);
    const lines = Array.from({ length: 8 }, () => JSON.stringify({ input_ids: Array.from({ length: 16 }, () => 3 + rng.int(500)) }));
    await writeFile(join(work, 'eight.jsonl'), `${lines.join('\n')}\n`);
    const out = join(work, 'overfit');
    await ok([
      'train', '--model', tinyDir, '--data', join(work, 'eight.jsonl'), '--eval-split', '0', '--batch-size', '8', '--steps', '30',
      '--lr', '1e-2', '--scheduler', 'constant', '--target', 'all-linear', '--lora-r', '16', '--lora-alpha', '16', '--out', out,
    ]);
    const losses = (await readMetrics(out)).filter((r) => r.loss !== undefined).map((r) => r.loss!);
    expect(losses).toHaveLength(30);
    const first = losses.findIndex((l) => l < 0.05 * losses[0]);
    console.log(`overfit: start ${losses[0].toFixed(3)}, below 5% at step ${first + 1}, end ${losses.at(-1)!.toFixed(4)}`);
    expect(first).toBeGreaterThanOrEqual(0);
  });

  it('stopped after step 20 of 40 and resumed (past a row cut short; a rerun without --resume and another seed refused), steps 21-40 log the same losses as the uninterrupted run', async () => {
    const rng = new Rng(5);
    const lines = Array.from({ length: 24 }, () => JSON.stringify({ input_ids: Array.from({ length: 8 + rng.int(10) }, () => 3 + rng.int(500)) }));
    await writeFile(join(work, 'resume.jsonl'), `${lines.join('\n')}\n`);
    const common = [
      'train', '--model', tinyDir, '--data', join(work, 'resume.jsonl'), '--eval-split', '0.2', '--eval-every', '10', '--batch-size', '4',
      '--steps', '40', '--lr', '5e-3', '--scheduler', 'cosine', '--warmup-steps', '5', '--lora-dropout', '0.1', '--seed', '3',
    ];
    const whole = join(work, 'whole');
    await ok([...common, '--out', whole]);
    const pieces = join(work, 'pieces');
    await ok([...common, '--out', pieces, '--stop-after-step', '20']);
    expect((await readMetrics(pieces)).at(-1)!.step).toBe(20);
    // The folder now holds a run: refused without --resume or --force, and with another seed (before the GPU starts).
    const checkpoint = join(pieces, 'checkpoints', 'step-20');
    const again = await tunelab([...common, '--out', pieces]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain(`tunelab: --out ${pieces} already holds a run (run.json, metrics.jsonl, adapter_config.json, adapter_model.safetensors, checkpoints/step-20): continue it with --resume ${checkpoint}, start over with --force`);
    const seeded = await tunelab([...common.map((a, i) => (common[i - 1] === '--seed' ? '4' : a)), '--out', pieces, '--resume', checkpoint]);
    expect(seeded.status).toBe(1);
    // The seed also draws the held-out split, so the training examples differ too: both are named.
    expect(seeded.stderr).toMatch(/^tunelab: .*step-20: cannot continue this run: data differs: the checkpoint was made with sha256 [0-9a-f]{12}… of .*resume\.jsonl \(19 training examples\), this run has [0-9a-f]{12}… of .*resume\.jsonl \(19\); .*; seed differs: the checkpoint was made with --seed 3, this run has --seed 4\n$/);
    // A crash while step 21's row was being written leaves half a line: the resume drops it, with a warning.
    const rowsBefore = (await readMetrics(pieces)).length;
    await appendFile(join(pieces, 'metrics.jsonl'), '{"step":21,"loss":1.2');
    const resumed = await ok([...common, '--out', pieces, '--resume', checkpoint]);
    expect(resumed.stderr).toBe(`warning: ${join(pieces, 'metrics.jsonl')}, line ${rowsBefore + 1}: dropped a row cut short (the run stopped while writing it): "{\\"step\\":21,\\"loss\\":1.2"\n`);
    const a = await readMetrics(whole);
    const b = await readMetrics(pieces);
    const steps = (rows: MetricsRow[]) => rows.filter((r) => r.loss !== undefined).map((r) => r.step);
    expect(steps(b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1)); // no gap, no duplicate
    expect(b.filter((r) => r.loss !== undefined).map((r) => r.loss)).toEqual(a.filter((r) => r.loss !== undefined).map((r) => r.loss));
    expect(b.filter((r) => r.eval_loss !== undefined)).toEqual(a.filter((r) => r.eval_loss !== undefined));
    const [wa, wb] = await Promise.all([readFile(join(whole, 'adapter_model.safetensors')), readFile(join(pieces, 'adapter_model.safetensors'))]);
    expect(Buffer.compare(wa, wb)).toBe(0);
  });
});
