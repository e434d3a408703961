// Inference with a LoRA adapter on the GPU model (GpuCausalLm.setAdapter + GpuLoraAdapter):
// - a fresh adapter (A random, B = 0) reproduces the base logits bit for bit, although every LoRA matmul runs;
// - a non-zero adapter equals the base model whose adapted weights were merged by hand (W + scale B A,
//   mergedWeight) and written as a plain checkpoint: Llama (all-linear), GPT-2 (c_attn's q / k / v row blocks,
//   Conv1D layout) and Qwen2 (q_proj, v_proj only, rsLoRA);
// - download returns exactly what was uploaded.

import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initAdapter, mergedWeight, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import type { LoraConfig } from '../../src/engine/lora/lora-config';
import type { CausalLm } from '../../src/engine/model/causal-lm';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { writeSafetensors, type TensorToWrite } from '../../src/engine/model/safetensors';
import { GpuLoraAdapter } from '../../src/engine/train/gpu/gpu-lora';
import { Rng } from '../../src/engine/util/rng';
import { testGpu } from '../helpers/gpu';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel, type TinyKind, type TinyModel } from '../helpers/tiny-models';

/**
 * LoRA path vs merged weights, |got - want| / (row max |want|). Both run in f32 on the GPU; they differ by
 * the f32 rounding of the merged weights and the order of the sums (measured on SwiftShader: see the log).
 */
const MERGED_TOL = 1e-4;

const CASES: { kind: TinyKind; config: LoraConfig; label: string }[] = [
  { kind: 'llama', label: 'tiny Llama (GQA), all-linear', config: { r: 4, alpha: 8, dropout: 0, targets: ['all-linear'], useRslora: false } },
  { kind: 'gpt2', label: 'tiny GPT-2 (c_attn q/k/v blocks), all-linear', config: { r: 3, alpha: 6, dropout: 0, targets: ['all-linear'], useRslora: false } },
  { kind: 'qwen2', label: 'tiny Qwen2, q_proj + v_proj, rsLoRA', config: { r: 4, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: true } },
];

/** A prompt ('all' logits), one decode step and a 3-token chunk on the filled cache. */
const SCHEDULE: { tokens: number[]; wanted: 'all' | 'last' }[] = [
  { tokens: [1, 17, 300, 42, 511, 0, 99], wanted: 'all' },
  { tokens: [256], wanted: 'last' },
  { tokens: [77, 17, 480], wanted: 'all' },
];

async function runSchedule(model: CausalLm): Promise<Float32Array[]> {
  const sequence = model.createSequence(16);
  const out: Float32Array[] = [];
  for (const s of SCHEDULE) out.push((await model.extend([{ sequence, tokens: s.tokens }], s.wanted))[0]);
  model.releaseSequence(sequence);
  return out;
}

/** A PEFT-initialised adapter whose B is made non-zero. */
function randomAdapter(loaded: LoadedModel, config: LoraConfig, seed: number): LoraAdapter {
  const rng = new Rng(seed);
  const adapter = initAdapter(planAdapter(loaded.config.architecture, loaded.weights, config), rng);
  for (const m of adapter.modules) m.b.set(rng.normals(m.b.length, 0.3));
  return adapter;
}

/** The tiny checkpoint with every adapted weight replaced by W + scale B[rows] A, in its own layout. */
async function writeMergedModel(dir: string, tiny: TinyModel, loaded: LoadedModel, adapter: LoraAdapter): Promise<void> {
  const tensors: Record<string, TensorToWrite> = { ...tiny.tensors };
  for (const m of adapter.modules) {
    const name = `${m.path}.weight`;
    const original = tensors[name];
    expect(original, name).toBeDefined();
    const data = Float32Array.from(original.data);
    for (const s of m.slots) {
      const w = loaded.weights.layers[s.layer][s.slot]!.weight.read();
      const merged = mergedWeight(w, m, s.rows, adapter.config.r, adapter.scale);
      const out = s.rows[1] - s.rows[0];
      for (let o = 0; o < out; o++) {
        for (let i = 0; i < m.inFeatures; i++) {
          // Conv1D (GPT-2) stores (in, out of the whole module); Linear stores (out, in).
          const at = m.fanInFanOut ? i * m.outFeatures + s.rows[0] + o : (s.rows[0] + o) * m.inFeatures + i;
          data[at] = merged[o * m.inFeatures + i];
        }
      }
    }
    tensors[name] = { ...original, data };
  }
  await mkdir(dir, { recursive: true });
  await copyFile(join(tiny.dir, 'config.json'), join(dir, 'config.json'));
  await writeFile(join(dir, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
}

function worstRowError(got: Float32Array, want: Float32Array, V: number): { worst: number; detail: string } {
  expect(got.length).toBe(want.length);
  let worst = -1;
  let detail = '';
  for (let r = 0; r < want.length / V; r++) {
    let scale = 0;
    for (let j = 0; j < V; j++) scale = Math.max(scale, Math.abs(want[r * V + j]));
    for (let j = 0; j < V; j++) {
      const err = Math.abs(got[r * V + j] - want[r * V + j]) / scale;
      if (!(err <= worst)) {
        worst = err;
        detail = `row ${r} logit ${j}: lora ${got[r * V + j]} merged ${want[r * V + j]}`;
      }
    }
  }
  return { worst, detail };
}

let tmp: string;
const tiny = new Map<TinyKind, { written: TinyModel; loaded: LoadedModel }>();

beforeAll(async () => {
  tmp = await makeTempDir('tunelab-lora-inference-');
  for (const kind of ['llama', 'gpt2', 'qwen2'] as const) {
    const written = await writeTinyModel(join(tmp, kind), kind);
    tiny.set(kind, { written, loaded: await loadModel(written.dir) });
  }
});

afterAll(async () => {
  await removeTempDir(tmp);
});

describe('GpuCausalLm with a LoRA adapter', () => {
  for (const c of CASES) {
    it(`${c.label}: B = 0 reproduces the base logits bit for bit`, async () => {
      const { loaded } = tiny.get(c.kind)!;
      const ctx = await testGpu();
      const model = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat: 'f32' });
      const adapter = initAdapter(planAdapter(loaded.config.architecture, loaded.weights, c.config), new Rng(5));
      const gpuAdapter = GpuLoraAdapter.create(ctx, adapter);
      try {
        const base = await runSchedule(model);
        model.setAdapter(gpuAdapter);
        const fresh = await runSchedule(model);
        base.forEach((b, i) => {
          const differing = b.reduce((n, x, j) => n + (Object.is(x, fresh[i][j]) ? 0 : 1), 0);
          expect(differing, `extend ${i}: logits that differ from the base`).toBe(0);
        });
        // The same adapter with B != 0 must change them: the LoRA path really runs.
        adapter.modules[0].b.fill(0.5);
        gpuAdapter.upload(adapter);
        const changed = await runSchedule(model);
        expect(changed[0].some((x, j) => x !== base[0][j])).toBe(true);
      } finally {
        gpuAdapter.dispose();
        model.dispose();
      }
    });

    it(`${c.label}: a non-zero adapter equals the hand-merged weights`, async () => {
      const { written, loaded } = tiny.get(c.kind)!;
      const ctx = await testGpu();
      const adapter = randomAdapter(loaded, c.config, 9);
      const mergedDir = join(tmp, `${c.kind}-merged`);
      await writeMergedModel(mergedDir, written, loaded, adapter);
      const merged = await loadModel(mergedDir);
      const model = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat: 'f32' });
      const mergedModel = await GpuCausalLm.create(ctx, merged.config, merged.weights, { weightFormat: 'f32' });
      const gpuAdapter = GpuLoraAdapter.create(ctx, adapter);
      try {
        model.setAdapter(gpuAdapter);
        const got = await runSchedule(model);
        const want = await runSchedule(mergedModel);
        model.setAdapter(null);
        const base = await runSchedule(model);
        const V = loaded.config.vocabSize;
        SCHEDULE.forEach((s, i) => {
          const { worst, detail } = worstRowError(got[i], want[i], V);
          console.log(`${c.label} extend ${i} (${s.tokens.length} tokens): worst |lora - merged| / max|merged| = ${worst.toExponential(2)} at ${detail}`);
          expect(worst).toBeLessThanOrEqual(MERGED_TOL);
          // The adapter moves the logits far more than the tolerance (the comparison has teeth).
          expect(worstRowError(base[i], want[i], V).worst).toBeGreaterThan(100 * MERGED_TOL);
        });
      } finally {
        gpuAdapter.dispose();
        model.dispose();
        mergedModel.dispose();
      }
    });
  }

  it('download returns the uploaded A and B; setAdapter refuses an adapter of another shape', async () => {
    const { loaded } = tiny.get('gpt2')!;
    const ctx = await testGpu();
    const adapter = randomAdapter(loaded, CASES[1].config, 3);
    const gpuAdapter = GpuLoraAdapter.create(ctx, adapter);
    const copy = planAdapter(loaded.config.architecture, loaded.weights, CASES[1].config);
    try {
      await gpuAdapter.download(copy);
      copy.modules.forEach((m, i) => {
        expect(m.a).toEqual(adapter.modules[i].a);
        expect(m.b).toEqual(adapter.modules[i].b);
      });
      const llama = tiny.get('llama')!.loaded;
      const model = await GpuCausalLm.create(ctx, llama.config, llama.weights, { weightFormat: 'f32' });
      try {
        expect(() => model.setAdapter(gpuAdapter)).toThrow(/LoRA of layer 0/);
      } finally {
        model.dispose();
      }
    } finally {
      gpuAdapter.dispose();
    }
  });
});
