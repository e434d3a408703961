// The whole-model GPU forward (GpuCausalLm) against the CPU reference (CpuCausalLm) on stories260K and on
// tiny random Llama / Qwen2 / GPT-2 checkpoints: a multi-token prompt, single-token decode steps through
// the KV cache and a multi-token chunk on a filled cache. Logits are compared per row as
// |gpu - ref| <= tol * max_j |ref_j| (the row's largest logit), and the worst element is printed.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import type { CausalLm } from '../../src/engine/model/causal-lm';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { countParameters } from '../../src/engine/model/weights';
import { testGpu } from '../helpers/gpu';
import { STORIES260K_DIR, loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel, type TinyKind, type TinyModelOptions } from '../helpers/tiny-models';

/**
 * The GPU f32 path must agree with the float64 CPU reference to this fraction of the row's largest logit
 * (measured on SwiftShader: worst 9.2e-7, tiny Qwen2; stories260K 6.1e-7).
 */
const F32_TOL = 1e-4;
/**
 * f16 weight storage rounds every matrix weight to 11 significant bits. Measured on stories260K (SwiftShader):
 * worst 5.5e-4 of the row's largest logit over the schedule, against both the GPU f32 path and the CPU
 * reference; 2e-3 leaves room for other adapters' summation orders.
 */
const F16_TOL = 2e-3;
/**
 * The same model and weights over different row groupings (batched vs alone, cached vs one pass): only
 * the matmul variant, picked by the row count, may change the summation order (measured: bit-equal).
 */
const BATCH_TOL = 1e-5;

interface RowComparison {
  /** max over rows of max_j |got - want| / max_j |want| */
  worst: number;
  detail: string;
}

function compareRows(got: Float32Array, want: Float32Array, V: number): RowComparison {
  expect(got.length).toBe(want.length);
  let worst = -1;
  let detail = '';
  for (let r = 0; r < want.length / V; r++) {
    const row = want.subarray(r * V, (r + 1) * V);
    const scale = row.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    for (let j = 0; j < V; j++) {
      const err = Math.abs(got[r * V + j] - row[j]) / scale;
      if (!(err <= worst)) {
        worst = err;
        detail = `row ${r} logit ${j}: gpu ${got[r * V + j]} ref ${row[j]} (row max |ref| ${scale.toPrecision(4)})`;
      }
    }
  }
  return { worst, detail };
}

function expectRowsClose(got: Float32Array, want: Float32Array, V: number, tol: number, label: string): number {
  const c = compareRows(got, want, V);
  console.log(`${label}: worst |gpu - ref| / max|ref| = ${c.worst.toExponential(2)} at ${c.detail}`);
  if (!(c.worst <= tol)) expect.fail(`${label}: ${c.worst.toExponential(3)} > ${tol} at ${c.detail}`);
  return c.worst;
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** The same schedule of extends on any model: prompt ('all'), 2 decode steps, a 3-token chunk ('all'), 1 step. */
const SCHEDULE: { tokens: number[]; wanted: 'all' | 'last' }[] = [
  { tokens: [1, 17, 300, 42, 511, 0, 99], wanted: 'all' },
  { tokens: [256], wanted: 'last' },
  { tokens: [3], wanted: 'last' },
  { tokens: [77, 17, 480], wanted: 'all' },
  { tokens: [5], wanted: 'last' },
];

async function runSchedule(model: CausalLm): Promise<Float32Array[]> {
  const sequence = model.createSequence(16);
  const out: Float32Array[] = [];
  for (const s of SCHEDULE) out.push((await model.extend([{ sequence, tokens: s.tokens }], s.wanted))[0]);
  expect(sequence.length).toBe(SCHEDULE.reduce((n, s) => n + s.tokens.length, 0));
  model.releaseSequence(sequence);
  return out;
}

let tmp: string;
const tiny = new Map<TinyKind, LoadedModel>();
let stories: LoadedModel;

const TINY_OPTIONS: Record<TinyKind, TinyModelOptions> = {
  llama: { llama3Rope: true }, // GQA 4/2, untied lm_head, head_dim 16 != 48 / 4
  qwen2: {}, // q/k/v biases, tied, rope_theta 1e6
  gpt2: {}, // LayerNorm, learned positions, GELU, biases everywhere
};

beforeAll(async () => {
  tmp = await makeTempDir();
  for (const kind of ['llama', 'qwen2', 'gpt2'] as const) {
    const dir = join(tmp, kind);
    await writeTinyModel(dir, kind, TINY_OPTIONS[kind]);
    tiny.set(kind, await loadModel(dir));
  }
  stories = await loadModel(STORIES260K_DIR);
});

afterAll(async () => {
  await removeTempDir(tmp);
});

describe('GpuCausalLm with f32 weights equals the CPU reference', () => {
  const cases: [string, () => LoadedModel][] = [
    ['stories260K', () => stories],
    ['tiny Llama (GQA, untied, explicit head_dim, llama3 RoPE)', () => tiny.get('llama')!],
    ['tiny Qwen2 (q/k/v biases)', () => tiny.get('qwen2')!],
    ['tiny GPT-2', () => tiny.get('gpt2')!],
  ];
  for (const [name, get] of cases) {
    it(`${name}: prompt, cached decode steps and a chunk on a filled cache`, async () => {
      const { config, weights } = get();
      const ctx = await testGpu();
      const gpu = await GpuCausalLm.create(ctx, config, weights, { weightFormat: 'f32' });
      try {
        const want = await runSchedule(new CpuCausalLm(config, weights));
        const got = await runSchedule(gpu);
        SCHEDULE.forEach((s, i) => {
          expect(got[i].length).toBe(s.wanted === 'all' ? s.tokens.length * config.vocabSize : config.vocabSize);
          expectRowsClose(got[i], want[i], config.vocabSize, F32_TOL, `${name} extend ${i} (${s.tokens.length} tokens, '${s.wanted}')`);
        });
      } finally {
        gpu.dispose();
      }
    });
  }
});

describe('GpuCausalLm weight storage', () => {
  it('uploads f32 weights as 4 bytes per parameter and f16 matrices at half that (norms stay f32)', async () => {
    const { config, weights } = stories;
    const ctx = await testGpu();
    const params = countParameters(weights);
    const normParams = (2 * config.numLayers + 1) * config.hiddenSize;
    const f32 = await GpuCausalLm.create(ctx, config, weights, { weightFormat: 'f32' });
    const f16 = await GpuCausalLm.create(ctx, config, weights);
    try {
      expect(f32.weightBytes).toBe(4 * params);
      expect(f16.weightFormat).toBe('f16');
      expect(f16.weightBytes).toBe(2 * (params - normParams) + 4 * normParams);
      expect(f16.weights.lmHead).toBe(f16.weights.tokenEmbedding); // tied: one set of buffers
      console.log(`stories260K on the GPU: ${f32.weightBytes} bytes as f32, ${f16.weightBytes} bytes with f16 matrices`);
    } finally {
      f32.dispose();
      f16.dispose();
    }
  });

  it('refuses f16 storage of a weight beyond the f16 range, naming the tensor, and frees what it uploaded', async () => {
    // The hostile model: a valid tiny Llama whose down_proj holds 70000 at [3, 5] (f16 would store Infinity).
    const dir = join(tmp, 'llama-f16-overflow');
    await writeTinyModel(dir, 'llama', TINY_OPTIONS.llama);
    const { config, weights, files } = await loadModel(dir);
    const down = files.weights[0].tensors.get('model.layers.1.mlp.down_proj.weight')!;
    new DataView(down.bytes.buffer, down.bytes.byteOffset).setFloat32(4 * (3 * config.intermediateSize + 5), 70000, true);
    const ctx = await testGpu();
    const held = ctx.memory.heldBytes;
    await expect(GpuCausalLm.create(ctx, config, weights)).rejects.toThrow(
      `tensor "model.layers.1.mlp.down_proj.weight" holds 70000 at index ${3 * config.intermediateSize + 5}, beyond the f16 range (largest 65504): ` +
        'stored as f16 it would become Infinity; load the model with f32 weights (weight format f32, or --weights f32 on the command line)',
    );
    expect(ctx.memory.heldBytes).toBe(held);
    const f32 = await GpuCausalLm.create(ctx, config, weights, { weightFormat: 'f32' });
    f32.dispose();
  });
});

describe('GpuCausalLm with f16 weights', () => {
  it('stories260K: logits stay within F16_TOL of the f32 path and of the CPU reference', async () => {
    const { config, weights } = stories;
    const ctx = await testGpu();
    const f32 = await GpuCausalLm.create(ctx, config, weights, { weightFormat: 'f32' });
    const f16 = await GpuCausalLm.create(ctx, config, weights, { weightFormat: 'f16' });
    try {
      const want32 = await runSchedule(f32);
      const ref = await runSchedule(new CpuCausalLm(config, weights));
      const got = await runSchedule(f16);
      SCHEDULE.forEach((s, i) => {
        const label = `f16 extend ${i} (${s.tokens.length} tokens, '${s.wanted}')`;
        const vsF32 = expectRowsClose(got[i], want32[i], config.vocabSize, F16_TOL, `${label} vs GPU f32`);
        expect(vsF32, 'f16 storage must actually round the weights').toBeGreaterThan(1e-5);
        expectRowsClose(got[i], ref[i], config.vocabSize, F16_TOL, `${label} vs CPU reference`);
      });
    } finally {
      f32.dispose();
      f16.dispose();
    }
  });

  for (const format of ['f16', 'f32'] as const) {
    it(`stories260K greedy-decodes the expected 40 tokens from BOS with ${format} weights`, async () => {
      const { files, config, weights } = stories;
      const ctx = await testGpu();
      const model = await GpuCausalLm.create(ctx, config, weights, { weightFormat: format });
      try {
        const sequence = model.createSequence(41);
        const generated: number[] = [];
        let next = config.bosTokenId!;
        let started = 0;
        for (let i = 0; i < 40; i++) {
          if (i === 1) started = performance.now(); // the first step also compiles pipelines
          const [logits] = await model.extend([{ sequence, tokens: [next] }], 'last');
          next = argmax(logits);
          generated.push(next);
        }
        const ms = (performance.now() - started) / 39;
        console.log(`stories260K ${format}: ${ms.toFixed(1)} ms per decode step (steps 2-40) on ${ctx.adapter.description || ctx.adapter.vendor}`);
        const tokenizer = new Tokenizer(files.tokenizer!, files.tokenizerConfig!);
        const expected = (await readFile(join(STORIES260K_DIR, 'expected_greedy_from_bos_40_tokens.txt'), 'utf8')).replace(/\n$/, '');
        expect(expected).toMatch(/^Once upon a time/);
        expect(tokenizer.decode(generated, { skip_special_tokens: true })).toBe(expected);
      } finally {
        model.dispose();
      }
    });
  }
});

/** Counts queue submits while `body` runs. */
async function countSubmits<T>(ctx: GpuContext, body: () => Promise<T>): Promise<[T, number]> {
  const queue = ctx.device.queue;
  const submit = queue.submit.bind(queue);
  let submits = 0;
  queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
    submits++;
    submit(buffers);
  };
  try {
    return [await body(), submits];
  } finally {
    queue.submit = submit;
  }
}

describe('GpuCausalLm with several sequences in one call', () => {
  it('gives each sequence the logits it gets alone, in one queue submit per call', async () => {
    const { config, weights } = tiny.get('llama')!;
    const V = config.vocabSize;
    const ctx = await testGpu();
    const model = await GpuCausalLm.create(ctx, config, weights);
    const prompts = [[1, 5, 9, 200, 31], [7], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]];
    const nextTokens = [[44], [300, 12, 9], [511]]; // the second call mixes a 3-token chunk with decode steps
    try {
      const alone: Float32Array[][] = [];
      for (let i = 0; i < prompts.length; i++) {
        const sequence = model.createSequence(32);
        const [prompt] = await model.extend([{ sequence, tokens: prompts[i] }], 'all');
        const [next] = await model.extend([{ sequence, tokens: nextTokens[i] }], 'last');
        alone.push([prompt, next]);
      }
      const sequences = prompts.map(() => model.createSequence(32));
      const [together, promptSubmits] = await countSubmits(ctx, () => model.extend(prompts.map((tokens, i) => ({ sequence: sequences[i], tokens })), 'all'));
      const [next, nextSubmits] = await countSubmits(ctx, () => model.extend(nextTokens.map((tokens, i) => ({ sequence: sequences[i], tokens })), 'last'));
      expect(promptSubmits).toBe(1);
      expect(nextSubmits).toBe(1);
      expect(sequences.map((s) => s.length)).toEqual([6, 4, 18]);
      prompts.forEach((p, i) => {
        expect(together[i].length).toBe(p.length * V);
        expect(next[i].length).toBe(V);
        expectRowsClose(together[i], alone[i][0], V, BATCH_TOL, `sequence ${i}, ${p.length}-token prompt among 23 rows`);
        expectRowsClose(next[i], alone[i][1], V, BATCH_TOL, `sequence ${i}, ${nextTokens[i].length} more token(s), 'last'`);
      });
    } finally {
      model.dispose();
    }
  });
});

describe('GpuCausalLm errors', () => {
  it('refuses capacity overflow, out-of-vocabulary ids and misused sequences, leaving caches as they were', async () => {
    const { config, weights } = stories;
    const ctx = await testGpu();
    const model = await GpuCausalLm.create(ctx, config, weights);
    const other = await GpuCausalLm.create(ctx, config, weights);
    try {
      const sequence = model.createSequence(4);
      const fresh = model.createSequence(4);
      await model.extend([{ sequence, tokens: [1, 20, 30] }], 'last');
      await expect(model.extend([{ sequence, tokens: [40, 50] }], 'last')).rejects.toThrow(/request 0 needs 5 positions, the sequence holds 4/);
      // The first request is fine; the second's bad id must stop both before anything runs.
      await expect(model.extend([{ sequence, tokens: [40] }, { sequence: fresh, tokens: [1, 512] }], 'all')).rejects.toThrow(
        /token id 512 \(request 1, position 1\) is outside the vocabulary of 512/,
      );
      await expect(model.extend([{ sequence: fresh, tokens: [-1] }], 'last')).rejects.toThrow(/token id -1 .* outside the vocabulary/);
      await expect(model.extend([{ sequence: fresh, tokens: [2.5] }], 'last')).rejects.toThrow(/token id 2\.5 .* outside the vocabulary/);
      await expect(model.extend([{ sequence: fresh, tokens: [] }], 'last')).rejects.toThrow(/request 0 has no tokens/);
      await expect(model.extend([{ sequence: fresh, tokens: [1] }, { sequence: fresh, tokens: [2] }], 'last')).rejects.toThrow(/more than one request/);
      expect([sequence.length, fresh.length]).toEqual([3, 0]);
      expect(() => model.createSequence(config.maxPositions + 1)).toThrow(/capacity must be an integer in \[1, 512\]/);
      await expect(other.extend([{ sequence, tokens: [1] }], 'last')).rejects.toThrow(/not created by this model/);

      // A second extend of a sequence while the first is in flight is refused, not interleaved.
      const first = model.extend([{ sequence: fresh, tokens: [1] }], 'last');
      await expect(model.extend([{ sequence: fresh, tokens: [2] }], 'last')).rejects.toThrow(/already being extended/);
      await first;

      // The refused calls changed nothing: the last position still computes what a clean run computes.
      const [after] = await model.extend([{ sequence, tokens: [40] }], 'last');
      const clean = other.createSequence(4);
      const [want] = await other.extend([{ sequence: clean, tokens: [1, 20, 30, 40] }], 'last');
      expectRowsClose(after, want, config.vocabSize, BATCH_TOL, 'after refused calls');

      model.releaseSequence(sequence);
      await expect(model.extend([{ sequence, tokens: [1] }], 'last')).rejects.toThrow(/sequence was released/);
    } finally {
      model.dispose();
      other.dispose();
    }
    expect(() => model.createSequence(1)).toThrow(/disposed/);
  });
});
