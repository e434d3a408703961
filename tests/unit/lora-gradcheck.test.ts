// THE gradient check of LoRA training: the float64 CPU reference's analytic gradients of every LoRA A and B
// (Llama with GQA and an explicit head_dim, Qwen2 with q/k/v biases, GPT-2 with c_attn's q/k/v row blocks
// and transposed Conv1D weights; adapter on all linear modules, B non-zero) agree with central finite
// differences of the loss; the training forward with B = 0 equals the inference reference's loss; rsLoRA
// rescales the gradient as its scale says.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LoraConfig } from '../../src/engine/lora/lora-config';
import { loraScale } from '../../src/engine/lora/lora-config';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { crossEntropyForward } from '../../src/engine/ops/cpu/cross-entropy';
import { cpuLoraLoss, cpuLoraLossAndGrads } from '../../src/engine/train/cpu/cpu-lora-backward';
import { float64Adapter, type CpuLoraAdapter } from '../../src/engine/train/cpu/cpu-lora-adapter';
import { buildCpuTrainModel, type CpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { trainedTokens, type TrainBatch } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import { ALL_LINEAR, randomLoraAdapter, twoSequenceBatch } from '../helpers/lora-fixtures';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel, type TinyKind } from '../helpers/tiny-models';

const KINDS: { kind: TinyKind; r: number }[] = [
  { kind: 'llama', r: 4 },
  { kind: 'qwen2', r: 3 },
  { kind: 'gpt2', r: 2 },
];

/** |analytic - fd| <= ATOL + RTOL |fd|, with fd the central difference at step H (float64 throughout). */
const H = 1e-5;
const ATOL = 1e-8;
const RTOL = 1e-5;
/** Each module's largest sampled gradient must dwarf ATOL, so agreement is not agreement of zeros. */
const MIN_LARGEST_GRAD = 1e-4;
const MIN_SAMPLES = 200;

let root: string;
const models = new Map<TinyKind, LoadedModel>();
const trainModels = new Map<TinyKind, CpuTrainModel>();

beforeAll(async () => {
  root = await makeTempDir('tunelab-gradcheck-');
  for (const { kind } of KINDS) {
    await writeTinyModel(`${root}/${kind}`, kind, { seed: 7 });
    const m = await loadModel(`${root}/${kind}`);
    models.set(kind, m);
    trainModels.set(kind, buildCpuTrainModel(m.config, m.weights));
  }
});
afterAll(() => removeTempDir(root));

interface Sample {
  module: number;
  param: 'a' | 'b';
  index: number;
}

/** A seeded sample covering every module, every rank index and (for B) every slot's row block. */
function sampleParameters(adapter: CpuLoraAdapter, rng: Rng): Sample[] {
  const r = adapter.config.r;
  const perParam = Math.ceil(MIN_SAMPLES / (2 * adapter.modules.length));
  const samples: Sample[] = [];
  adapter.modules.forEach((m, module) => {
    for (let i = 0; i < perParam; i++) {
      samples.push({ module, param: 'a', index: (i % r) * m.inFeatures + rng.int(m.inFeatures) });
      const [begin, end] = m.slots[i % m.slots.length].rows;
      samples.push({ module, param: 'b', index: (begin + rng.int(end - begin)) * r + rng.int(r) });
    }
  });
  return samples;
}

function centralDifference(loss: () => number, values: Float64Array, index: number): number {
  const saved = values[index];
  values[index] = saved + H;
  const up = loss();
  values[index] = saved - H;
  const down = loss();
  values[index] = saved;
  return (up - down) / (2 * H);
}

const config = (r: number, over: Partial<LoraConfig> = {}): LoraConfig => ({ ...ALL_LINEAR, r, ...over });

describe('LoRA gradients of the whole model vs central finite differences (float64)', () => {
  for (const { kind, r } of KINDS) {
    test(`${kind}: all-linear, r=${r}, B non-zero, 2 sequences of different lengths with ignored labels`, () => {
      const { config: mc, weights } = models.get(kind)!;
      const model = trainModels.get(kind)!;
      const adapter = float64Adapter(randomLoraAdapter(mc.architecture, weights, config(r), 11));
      const batch = twoSequenceBatch(mc.vocabSize, 5);
      const linearCount = mc.numLayers * (kind === 'gpt2' ? 4 : 7);
      expect(adapter.modules.length).toBe(linearCount);

      const { loss, grads } = cpuLoraLossAndGrads(model, adapter, batch);
      expect(loss).toBeCloseTo(cpuLoraLoss(model, adapter, batch), 12);
      const lossOf = () => cpuLoraLoss(model, adapter, batch);

      const samples = sampleParameters(adapter, new Rng(3));
      expect(samples.length).toBeGreaterThanOrEqual(MIN_SAMPLES);
      let worst = { excess: -Infinity, error: 0, analytic: 0, fd: 0, where: '' };
      const largest = new Map<string, number>();
      for (const s of samples) {
        const values = adapter.modules[s.module][s.param];
        const analytic = grads[s.module][s.param][s.index];
        const fd = centralDifference(lossOf, values, s.index);
        const error = Math.abs(analytic - fd);
        const excess = error - (ATOL + RTOL * Math.abs(fd));
        const key = `${adapter.modules[s.module].path}.${s.param}`;
        largest.set(key, Math.max(largest.get(key) ?? 0, Math.abs(fd)));
        if (excess > worst.excess) worst = { excess, error, analytic, fd, where: `${key}[${s.index}]` };
      }
      console.log(
        `${kind}: ${samples.length} LoRA elements, loss ${loss.toFixed(6)}; worst ${worst.where}: analytic ${worst.analytic.toExponential(6)}, ` +
          `fd ${worst.fd.toExponential(6)}, |diff| ${worst.error.toExponential(2)} (allowed ${ATOL} + ${RTOL} |fd|)`,
      );
      expect(worst.excess, `worst element ${worst.where}`).toBeLessThanOrEqual(0);
      expect(largest.size).toBe(2 * linearCount);
      for (const [key, g] of largest) expect(g, `largest sampled |grad| of ${key}`).toBeGreaterThan(MIN_LARGEST_GRAD);
    });
  }
});

/** The inference reference's mean cross-entropy over the batch's trained labels. */
async function inferenceMeanLoss(kind: TinyKind, batch: TrainBatch): Promise<number> {
  const { config, weights } = models.get(kind)!;
  const lm = new CpuCausalLm(config, weights);
  let sum = 0;
  for (const s of batch.sequences) {
    const T = s.inputIds.length;
    const [logits] = await lm.extend([{ sequence: lm.createSequence(T), tokens: Array.from(s.inputIds) }], 'all');
    sum += crossEntropyForward(new Float64Array(T), logits, s.labels, T, config.vocabSize).sum;
  }
  return sum / trainedTokens(batch);
}

describe('the training forward is the inference forward', () => {
  for (const { kind, r } of KINDS) {
    test(`${kind}: with B = 0 the loss is the base model's mean CE from CpuCausalLm logits`, async () => {
      const { config: mc, weights } = models.get(kind)!;
      const model = trainModels.get(kind)!;
      const batch = twoSequenceBatch(mc.vocabSize, 9);
      const adapter = float64Adapter(randomLoraAdapter(mc.architecture, weights, config(r), 4));
      const withB = cpuLoraLoss(model, adapter, batch);
      for (const m of adapter.modules) m.b.fill(0);
      const base = await inferenceMeanLoss(kind, batch);
      const zeroB = cpuLoraLossAndGrads(model, adapter, batch);
      // CpuCausalLm hands out f32 logits: their rounding (~3e-8 relative) bounds the agreement.
      expect(Math.abs(zeroB.loss - base)).toBeLessThan(1e-6 * base);
      // A non-zero B changes the loss, so the comparison above is not blind to the LoRA branch.
      expect(Math.abs(withB - base)).toBeGreaterThan(1e-3);
      // With B = 0 nothing reaches A; B's gradient is x A^T against dy, non-zero.
      for (const g of zeroB.grads) {
        expect(g.a.every((v) => v === 0)).toBe(true);
        expect(g.b.some((v) => Math.abs(v) > 1e-6)).toBe(true);
      }
    });
  }
});

describe('rsLoRA', () => {
  test('scale alpha / sqrt(r) instead of alpha / r multiplies the gradient by sqrt(r) at equal updates', () => {
    const { config: mc, weights } = models.get('llama')!;
    const model = trainModels.get('llama')!;
    const r = 4;
    const batch = twoSequenceBatch(mc.vocabSize, 2);
    const plain = float64Adapter(randomLoraAdapter(mc.architecture, weights, config(r), 21));
    const rs = float64Adapter(plain);
    rs.config.useRslora = true;
    rs.scale = loraScale(rs.config);
    const ratio = rs.scale / plain.scale;
    expect(ratio).toBeCloseTo(Math.sqrt(r), 12);

    // B = 0: the forward is the base model's under both, and dB = scale dy^T (x A^T) scales by the ratio exactly.
    for (const m of [...plain.modules, ...rs.modules]) m.b.fill(0);
    const g0 = cpuLoraLossAndGrads(model, plain, batch).grads;
    const g0rs = cpuLoraLossAndGrads(model, rs, batch).grads;
    g0.forEach((g, i) => g.b.forEach((v, j) => expect(g0rs[i].b[j]).toBeCloseTo(ratio * v, 12)));
    expect(Math.max(...g0.map((g) => Math.max(...g.b.map(Math.abs))))).toBeGreaterThan(1e-3);

    // B non-zero: rsLoRA with B is plain LoRA with ratio * B (same delta W); then dA is equal and dB is ratio times.
    const rng = new Rng(8);
    rs.modules.forEach((m, i) => {
      for (let j = 0; j < m.b.length; j++) {
        m.b[j] = rng.uniform(-0.2, 0.2);
        plain.modules[i].b[j] = ratio * m.b[j];
      }
    });
    const gp = cpuLoraLossAndGrads(model, plain, batch);
    const grs = cpuLoraLossAndGrads(model, rs, batch);
    expect(grs.loss).toBeCloseTo(gp.loss, 12);
    let maxA = 0;
    gp.grads.forEach((g, i) => {
      g.a.forEach((v, j) => expect(Math.abs(grs.grads[i].a[j] - v)).toBeLessThanOrEqual(1e-12 + 1e-9 * Math.abs(v)));
      g.b.forEach((v, j) => expect(Math.abs(grs.grads[i].b[j] - ratio * v)).toBeLessThanOrEqual(1e-12 + 1e-9 * Math.abs(ratio * v)));
      maxA = Math.max(maxA, ...g.a.map(Math.abs));
    });
    expect(maxA).toBeGreaterThan(1e-3);
  });
});

describe('LoRA dropout with explicit masks', () => {
  test('gpt2: gradients through per-(sequence, module) masks agree with finite differences; c_attn shares one mask', () => {
    const { config: mc, weights } = models.get('gpt2')!;
    const model = trainModels.get('gpt2')!;
    const p = 0.25;
    const adapter = float64Adapter(randomLoraAdapter(mc.architecture, weights, config(2, { dropout: p }), 13));
    const batch = twoSequenceBatch(mc.vocabSize, 6);
    const rng = new Rng(19);
    const masks = batch.sequences.map((s) =>
      adapter.modules.map((m) => Float64Array.from({ length: s.inputIds.length * m.inFeatures }, () => (rng.next() < p ? 0 : 1 / (1 - p)))),
    );
    const requested: string[] = [];
    const dropoutMasks = (sequence: number, module: number) => {
      requested.push(`${sequence}:${module}`);
      return masks[sequence][module];
    };
    const { grads } = cpuLoraLossAndGrads(model, adapter, batch, { dropoutMasks });
    // One mask per (sequence, module) per pass, c_attn included (its q, k, v slots reuse it).
    expect(requested.length).toBe(batch.sequences.length * adapter.modules.length);
    const ones = batch.sequences.map((s) => adapter.modules.map((m) => new Float64Array(s.inputIds.length * m.inFeatures).fill(1)));
    const noDropout = cpuLoraLoss(model, adapter, batch, { dropoutMasks: (s, m) => ones[s][m] });
    const lossOf = () => cpuLoraLoss(model, adapter, batch, { dropoutMasks });
    expect(Math.abs(lossOf() - noDropout)).toBeGreaterThan(1e-4);

    let worst = 0;
    for (const s of sampleParameters(adapter, new Rng(4)).filter((_, i) => i % 3 === 0)) {
      const fd = centralDifference(lossOf, adapter.modules[s.module][s.param], s.index);
      const analytic = grads[s.module][s.param][s.index];
      worst = Math.max(worst, Math.abs(analytic - fd) / (ATOL + RTOL * Math.abs(fd)));
    }
    console.log(`gpt2 with dropout masks: worst |diff| / allowed = ${worst.toFixed(3)}`);
    expect(worst).toBeLessThanOrEqual(1);
  });
});
