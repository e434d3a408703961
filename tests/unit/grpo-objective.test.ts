// The GRPO objective against TRL's GRPOTrainer._compute_loss (trl/trainer/grpo_trainer.py), in float64:
// - the step loss of each loss type (grpo, bnpo, dr_grpo, dapo) over two micro-batches of unequal sizes and
//   completion lengths, with and without masked truncated completions, equals TRL's aggregation written out
//   here over padded (B, T) completion tensors (the micro-batch losses summed, as accumulated gradients are),
//   and so do the clip-ratio and kl metrics; d loss / d log p per token matches central differences of it;
// - with no old log-probabilities (num_iterations 1) the ratio is 1: the loss is -sum(w A) over the tokens;
// - through the whole float64 CPU model (tiny Llama with GQA, Qwen2, GPT-2; an all-linear adapter with
//   non-zero B), with beta > 0 (the reference = the adapter switched off) and old log-probabilities set so
//   that tokens are clipped both ways, the LoRA gradients of every loss type match central finite
//   differences; a fresh adapter (B = 0) gives the base model's loss and zero KL.

import { describe, expect, test } from 'vitest';
import { initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import { CpuBackend } from '../../src/engine/train/cpu/cpu-backend';
import { float64Adapter, type CpuLoraAdapter } from '../../src/engine/train/cpu/cpu-lora-adapter';
import { cpuObjectiveLossAndGrads, cpuTokenLogps } from '../../src/engine/train/cpu/cpu-lora-backward';
import { GRPO_LOSS_TYPES, type GrpoConfig, type GrpoLossType } from '../../src/engine/train/grpo/grpo-config';
import { rolloutSequence, type GrpoObjective, type RolloutSample } from '../../src/engine/train/grpo/grpo-objective';
import type { TokenLogps } from '../../src/engine/train/objective';
import { makeGrpoObjective } from '../../src/engine/train/objectives/make-objective';
import { IGNORE_INDEX, type TrainBatch } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import { ALL_LINEAR, randomLoraAdapter } from '../helpers/lora-fixtures';
import type { TinyKind } from '../helpers/tiny-models';
import { LORA_FD, useTinyTrainModels } from '../helpers/tiny-train-models';

interface Shape {
  prompt: number;
  completion: number;
  truncated: boolean;
  advantage: number;
}

/** Two micro-batches of 3 and 2 completions of different lengths, a truncated one in each. */
const SHAPES: Shape[][] = [
  [
    { prompt: 3, completion: 4, truncated: false, advantage: 0.9 },
    { prompt: 2, completion: 2, truncated: true, advantage: -1.1 },
    { prompt: 1, completion: 5, truncated: false, advantage: -0.6 },
  ],
  [
    { prompt: 2, completion: 3, truncated: false, advantage: 1.3 },
    { prompt: 4, completion: 6, truncated: true, advantage: 0.4 },
  ],
];
const MAX_COMPLETION = 8;
const EPSILON = 0.2;
const EPSILON_HIGH = 0.28;
/** log(policy / old) per token, clear of the clip range's edges [ln 0.8, ln 1.28] = [-0.223, 0.247]: inside, below, above. */
const LOG_RATIOS = [0.05, -0.5, 0.45, -0.08, 0.6, -0.4, 0.12];

/** One completion's per-token values: the policy's log p, the sampling policy's and the reference's. */
interface Completion {
  shape: Shape;
  logp: number[];
  old: number[];
  ref: number[];
}

function syntheticCompletions(seed: number): Completion[][] {
  const rng = new Rng(seed);
  let k = 0;
  return SHAPES.map((mb) =>
    mb.map((shape) => {
      const logp = Array.from({ length: shape.completion }, () => rng.uniform(-3, -0.2));
      return { shape, logp, old: logp.map((lp) => lp - LOG_RATIOS[k++ % LOG_RATIOS.length]), ref: logp.map((lp) => lp + rng.uniform(-0.5, 0.5)) };
    }),
  );
}

function sampleOf(c: Completion, withOld: boolean, withRef: boolean): RolloutSample {
  const { prompt, completion, truncated, advantage } = c.shape;
  return {
    prompt: Array.from({ length: prompt }, (_, i) => 10 + i),
    completion: Array.from({ length: completion }, (_, j) => 20 + j),
    advantage,
    truncated,
    oldLogps: withOld ? Float64Array.from(c.old) : undefined,
    refLogps: withRef ? Float64Array.from(c.ref) : undefined,
  };
}

/** The policy's log p per position: completion token j is predicted at position P - 1 + j. */
function positionLogps(c: Completion): Float64Array {
  const out = new Float64Array(c.shape.prompt + c.shape.completion);
  out.set(c.logp, c.shape.prompt - 1);
  return out;
}

interface TrlSettings {
  lossType: GrpoLossType;
  beta: number;
  maskTruncated: boolean;
  /** false: num_iterations 1, old_per_token_logps = per_token_logps.detach(). */
  withOld: boolean;
}

/**
 * TRL's _compute_loss over padded (B, T) completion tensors per micro-batch, summed over the micro-batches;
 * num_items_in_batch is the mask's sum over the whole generation batch (one optimizer step here).
 */
function trlStep(s: TrlSettings, mbs: Completion[][]): { loss: number; metrics: Record<string, number>[] } {
  const maskOf = (c: Completion, j: number) => (j < c.shape.completion && !(s.maskTruncated && c.shape.truncated) ? 1 : 0);
  const numItems = mbs.flat().reduce((n, c) => n + c.logp.reduce((m, _, j) => m + maskOf(c, j), 0), 0);
  const accum = mbs.length;
  let loss = 0;
  const metrics = mbs.map((mb) => {
    const B = mb.length;
    const T = Math.max(...mb.map((c) => c.shape.completion));
    const at = (xs: number[], j: number) => (j < xs.length ? xs[j] : 0); // right padding with 0
    const perToken: number[][] = [];
    const mask: number[][] = [];
    const low: number[][] = [];
    const high: number[][] = [];
    const kl: number[][] = [];
    for (const c of mb) {
      const A = c.shape.advantage;
      const row = { loss: [] as number[], mask: [] as number[], low: [] as number[], high: [] as number[], kl: [] as number[] };
      for (let j = 0; j < T; j++) {
        const lp = at(c.logp, j);
        const coef1 = Math.exp(lp - (s.withOld ? at(c.old, j) : lp));
        const coef2 = Math.min(Math.max(coef1, 1 - EPSILON), 1 + EPSILON_HIGH);
        const d = at(c.ref, j) - lp;
        const k3 = Math.exp(d) - d - 1;
        row.loss.push(-Math.min(coef1 * A, coef2 * A) + (s.beta !== 0 ? s.beta * k3 : 0));
        row.mask.push(maskOf(c, j));
        row.low.push(coef1 < 1 - EPSILON && A < 0 ? 1 : 0);
        row.high.push(coef1 > 1 + EPSILON_HIGH && A > 0 ? 1 : 0);
        row.kl.push(k3);
      }
      perToken.push(row.loss);
      mask.push(row.mask);
      low.push(row.low);
      high.push(row.high);
      kl.push(row.kl);
    }
    const rowSum = (x: number[][], i: number) => x[i].reduce((a, v, j) => a + v * mask[i][j], 0);
    const total = (x: number[][]) => x.reduce((a, _, i) => a + rowSum(x, i), 0);
    const tokens = total(mask.map((r) => r.map(() => 1)));
    switch (s.lossType) {
      case 'grpo':
        loss += perToken.reduce((a, _, i) => a + rowSum(perToken, i) / Math.max(1, rowSum(mask.map((r) => r.map(() => 1)), i)), 0) / B / accum;
        break;
      case 'bnpo':
        loss += total(perToken) / Math.max(1, tokens) / accum;
        break;
      case 'dr_grpo':
        loss += total(perToken) / (B * MAX_COMPLETION) / accum;
        break;
      case 'dapo':
        loss += total(perToken) / Math.max(1, numItems);
        break;
    }
    // masked_seq_mean: NaN for a sequence without mask tokens, which nanmin / nanmax skip.
    const seqMeans = (x: number[][]) => x.map((_, i) => rowSum(x, i) / rowSum(mask.map((r) => r.map(() => 1)), i)).filter((v) => !Number.isNaN(v));
    const m: Record<string, number> = {
      'clip_ratio/low_mean': total(low) / Math.max(1, tokens),
      'clip_ratio/high_mean': total(high) / Math.max(1, tokens),
      'clip_ratio/region_mean': total(low.map((r, i) => r.map((v, j) => Math.max(v, high[i][j])))) / Math.max(1, tokens),
      'clip_ratio/low_min': Math.min(...seqMeans(low)),
      'clip_ratio/high_max': Math.max(...seqMeans(high)),
    };
    if (s.beta !== 0) m.kl = total(kl) / Math.max(1, tokens);
    return m;
  });
  return { loss, metrics };
}

function objectiveFor(s: Omit<TrlSettings, 'withOld'>, extra: Partial<GrpoConfig> = {}): GrpoObjective {
  return makeGrpoObjective({ lossType: s.lossType, beta: s.beta, epsilon: EPSILON, epsilonHigh: EPSILON_HIGH, maxCompletionLength: MAX_COMPLETION, maskTruncatedCompletions: s.maskTruncated, numIterations: 2, ...extra });
}

/** Our step: each micro-batch's evaluate under the step's totals. */
function ourStep(s: TrlSettings, mbs: Completion[][]) {
  const objective = objectiveFor(s);
  const batches = mbs.map((mb) => objective.batch(mb.map((c) => sampleOf(c, s.withOld, s.beta !== 0))));
  const totals = objective.totals(batches);
  const results = batches.map((batch, b) => objective.evaluate({ batch, policy: mbs[b].map(positionLogps) }, totals));
  return { loss: results.reduce((a, r) => a + r.loss, 0), results, batches, totals };
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));

describe("GRPO loss types vs TRL's aggregation (two micro-batches of unequal sizes and lengths)", () => {
  for (const lossType of GRPO_LOSS_TYPES) {
    for (const maskTruncated of [false, true]) {
      for (const beta of [0, 0.05]) {
        test(`${lossType}, mask_truncated_completions ${maskTruncated}, beta ${beta}: loss, metrics and d loss / d log p`, () => {
          const s: TrlSettings = { lossType, beta, maskTruncated, withOld: true };
          const mbs = syntheticCompletions(3);
          const ours = ourStep(s, mbs);
          const trl = trlStep(s, mbs);
          expect(relErr(ours.loss, trl.loss)).toBeLessThan(1e-13);
          ours.results.forEach((r, b) => {
            expect(Object.keys(r.metrics).sort()).toEqual(Object.keys(trl.metrics[b]).sort());
            for (const [name, value] of Object.entries(trl.metrics[b])) expect(r.metrics[name], `micro-batch ${b} ${name}`).toBeCloseTo(value, 14);
          });
          // Both kinds of clipping happen in this data.
          expect(Math.max(...trl.metrics.map((m) => m['clip_ratio/low_mean']))).toBeGreaterThan(0);
          expect(Math.max(...trl.metrics.map((m) => m['clip_ratio/high_mean']))).toBeGreaterThan(0);

          // tokenGrads against central differences of TRL's step loss in each completion token's log p.
          const h = 1e-6;
          let worst = 0;
          mbs.forEach((mb, b) =>
            mb.forEach((c, i) =>
              c.logp.forEach((lp, j) => {
                c.logp[j] = lp + h;
                const up = trlStep(s, mbs).loss;
                c.logp[j] = lp - h;
                const down = trlStep(s, mbs).loss;
                c.logp[j] = lp;
                const fd = (up - down) / (2 * h);
                const analytic = ours.results[b].tokenGrads[i][c.shape.prompt - 1 + j];
                worst = Math.max(worst, Math.abs(analytic - fd));
                expect(Math.abs(analytic - fd), `micro-batch ${b} completion ${i} token ${j}`).toBeLessThan(1e-9);
              }),
            ),
          );
          expect(worst).toBeLessThan(1e-9);
        });
      }
    }
  }

  test('with no old log-probabilities (num_iterations 1) the ratio is 1: loss = -sum(w A) in closed form, whatever the log-probabilities', () => {
    const mbs = syntheticCompletions(4);
    const tokensOf = (c: Completion) => (c.shape.truncated ? 0 : c.shape.completion); // masked truncated completions
    const accum = mbs.length;
    const allTokens = mbs.flat().reduce((n, c) => n + tokensOf(c), 0);
    const expected: Record<GrpoLossType, number> = {
      grpo: -mbs.reduce((a, mb) => a + mb.reduce((m, c) => m + (tokensOf(c) > 0 ? c.shape.advantage : 0), 0) / mb.length, 0) / accum,
      bnpo: -mbs.reduce((a, mb) => a + mb.reduce((m, c) => m + tokensOf(c) * c.shape.advantage, 0) / mb.reduce((n, c) => n + tokensOf(c), 0), 0) / accum,
      dr_grpo: -mbs.reduce((a, mb) => a + mb.reduce((m, c) => m + tokensOf(c) * c.shape.advantage, 0) / (mb.length * MAX_COMPLETION), 0) / accum,
      // dapo: minus the mean advantage over the step's tokens.
      dapo: -mbs.flat().reduce((m, c) => m + tokensOf(c) * c.shape.advantage, 0) / allTokens,
    };
    for (const lossType of GRPO_LOSS_TYPES) {
      const s: TrlSettings = { lossType, beta: 0, maskTruncated: true, withOld: false };
      const ours = ourStep(s, mbs);
      expect(relErr(ours.loss, expected[lossType]), lossType).toBeLessThan(1e-14);
      expect(relErr(ours.loss, trlStep(s, mbs).loss), lossType).toBeLessThan(1e-14);
      // Other log-probabilities: the same loss; each token's gradient is -w A.
      const shifted = mbs.map((mb) => mb.map((c) => ({ ...c, logp: c.logp.map((lp) => lp - 0.7) })));
      expect(relErr(ourStep(s, shifted).loss, ours.loss), lossType).toBeLessThan(1e-14);
      ours.results.forEach((r, b) => {
        expect(r.metrics['clip_ratio/region_mean']).toBe(0);
        ours.batches[b].sequences.forEach((seq, i) => {
          const w = ours.totals.tokenWeight.get(seq)!;
          seq.labels.forEach((l, t) => expect(r.tokenGrads[i][t]).toBe(l === IGNORE_INDEX ? 0 : -w * seq.rollout!.advantage));
        });
      });
    }
  });
});

const KINDS: TinyKind[] = ['llama', 'qwen2', 'gpt2'];
const { h: H, atol: ATOL, rtol: RTOL } = LORA_FD;
const SAMPLES_PER_MODULE = 2;

const models = useTinyTrainModels('tunelab-grpo-objective-', KINDS);

/** SHAPES with random token ids; old log-probabilities from `policy` moved by LOG_RATIOS, the reference's from `reference`. */
async function modelSamples(backend: CpuBackend, vocab: number, seed: number): Promise<RolloutSample[][]> {
  const rng = new Rng(seed);
  const ids = (n: number) => Array.from({ length: n }, () => 1 + rng.int(vocab - 1));
  const plain = SHAPES.map((mb) => mb.map((s): RolloutSample => ({ prompt: ids(s.prompt), completion: ids(s.completion), advantage: s.advantage, truncated: s.truncated })));
  let k = 0;
  const out: RolloutSample[][] = [];
  for (const mb of plain) {
    // Every completion token labelled (no masking) to score them all.
    const scoring: TrainBatch = { sequences: mb.map((s) => rolloutSequence(s, false)) };
    const policy = await backend.logProbs(scoring, 'policy');
    const reference = await backend.logProbs(scoring, 'reference');
    const completionPart = (logps: Float64Array, s: RolloutSample) => logps.slice(s.prompt.length - 1, s.prompt.length - 1 + s.completion.length);
    out.push(mb.map((s, i) => ({ ...s, oldLogps: completionPart(policy[i], s).map((lp) => lp - LOG_RATIOS[k++ % LOG_RATIOS.length]), refLogps: completionPart(reference[i], s) })));
  }
  return out;
}

/** Elements of every module's A and B, a few each (B across its slots' row blocks). */
function sampledParams(adapter: CpuLoraAdapter, rng: Rng): { module: number; param: 'a' | 'b'; index: number }[] {
  const r = adapter.config.r;
  return adapter.modules.flatMap((m, module) =>
    Array.from({ length: SAMPLES_PER_MODULE }, (_, i) => {
      const [first, end] = m.slots[i % m.slots.length].rows;
      return [
        { module, param: 'a' as const, index: rng.int(m.a.length) },
        { module, param: 'b' as const, index: (first + rng.int(end - first)) * r + rng.int(r) },
      ];
    }).flat(),
  );
}

const stepLoss = (objective: GrpoObjective, batches: TrainBatch[], logps: TokenLogps[], totals = objective.totals(batches)) =>
  batches.reduce((a, batch, b) => a + objective.evaluate({ batch, policy: logps[b] }, totals).loss, 0);

describe('GRPO LoRA gradients through the whole float64 CPU model vs central finite differences (beta > 0, clipped ratios)', () => {
  for (const kind of KINDS) {
    test(`${kind}: every loss type`, { timeout: 30_000 }, async () => {
      const { loaded, cpu } = models.get(kind)!;
      const lora = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 2 }, 11);
      const adapter = float64Adapter(lora);
      // No reference adapter: the reference is the base model (the adapter switched off).
      const samples = await modelSamples(new CpuBackend(cpu, lora), loaded.config.vocabSize, 5);
      const objectives = GRPO_LOSS_TYPES.map((lossType) => objectiveFor({ lossType, beta: 0.05, maskTruncated: true }));
      const batches = samples.map((mb) => objectives[0].batch(mb));
      const totals = objectives.map((o) => o.totals(batches));

      const analytic = objectives.map((objective, o) => {
        const grads = adapter.modules.map((m) => ({ a: new Float64Array(m.a.length), b: new Float64Array(m.b.length) }));
        let low = 0;
        let high = 0;
        for (const batch of batches) {
          const r = cpuObjectiveLossAndGrads(cpu, adapter, { batch, objective, totals: totals[o] });
          low += r.result.metrics['clip_ratio/low_mean'];
          high += r.result.metrics['clip_ratio/high_mean'];
          expect(r.result.metrics.kl).toBeGreaterThan(0);
          r.grads.forEach((g, i) => {
            g.a.forEach((x, j) => (grads[i].a[j] += x));
            g.b.forEach((x, j) => (grads[i].b[j] += x));
          });
        }
        // Tokens are clipped on both sides (their ratio terms pass no gradient).
        expect(low, objective.config.lossType).toBeGreaterThan(0);
        expect(high, objective.config.lossType).toBeGreaterThan(0);
        return grads;
      });

      const losses = () => {
        const logps = batches.map((batch) => cpuTokenLogps(cpu, adapter, batch));
        return objectives.map((o, i) => stepLoss(o, batches, logps, totals[i]));
      };
      const worst = objectives.map(() => ({ ratio: 0, where: '', analytic: 0, fd: 0, largest: 0 }));
      for (const p of sampledParams(adapter, new Rng(3))) {
        const values = adapter.modules[p.module][p.param];
        const saved = values[p.index];
        values[p.index] = saved + H;
        const up = losses();
        values[p.index] = saved - H;
        const down = losses();
        values[p.index] = saved;
        objectives.forEach((_, o) => {
          const fd = (up[o] - down[o]) / (2 * H);
          const a = analytic[o][p.module][p.param][p.index];
          const ratio = Math.abs(a - fd) / (ATOL + RTOL * Math.abs(fd));
          const w = worst[o];
          w.largest = Math.max(w.largest, Math.abs(fd));
          if (ratio > w.ratio) Object.assign(w, { ratio, where: `${adapter.modules[p.module].path}.${p.param}[${p.index}]`, analytic: a, fd });
        });
      }
      objectives.forEach((o, i) => {
        const w = worst[i];
        console.log(`grpo ${o.config.lossType}, ${kind}: worst ${w.where}: analytic ${w.analytic.toExponential(6)} fd ${w.fd.toExponential(6)} (${w.ratio.toFixed(3)} of allowed; max |fd| ${w.largest.toExponential(2)})`);
        expect(w.ratio, `${o.config.lossType} ${w.where}`).toBeLessThanOrEqual(1);
        expect(w.largest, 'the gradients are not all (near) zero').toBeGreaterThan(1e-4);
      });
    });
  }

  test('a fresh adapter (B = 0) gives the base model loss, and zero KL against the adapter-off reference', async () => {
    for (const kind of KINDS) {
      const { loaded, cpu } = models.get(kind)!;
      const fresh = initAdapter(planAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 2 }), new Rng(9));
      const samples = await modelSamples(new CpuBackend(cpu, fresh), loaded.config.vocabSize, 6);
      for (const lossType of GRPO_LOSS_TYPES) {
        const objective = objectiveFor({ lossType, beta: 0.05, maskTruncated: false });
        const batches = samples.map((mb) => objective.batch(mb));
        const withAdapter = stepLoss(objective, batches, batches.map((b) => cpuTokenLogps(cpu, float64Adapter(fresh), b)));
        const base = stepLoss(objective, batches, batches.map((b) => cpuTokenLogps(cpu, null, b)));
        expect(withAdapter, `${kind} ${lossType}`).toBe(base);
        const totals = objective.totals(batches);
        for (const batch of batches) expect(objective.evaluate({ batch, policy: cpuTokenLogps(cpu, null, batch) }, totals).metrics.kl).toBe(0);
      }
    }
  });
});
