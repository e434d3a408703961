// GRPO's log-probabilities at the sampling temperature (TRL's _get_per_token_logps_and_entropies divides the
// logits by it, trl/trainer/grpo_trainer.py), on the float64 CPU reference:
// - logProbs at temperature tau equals log softmax(logits / tau) of an independent forward (the CPU inference
//   model, cpu-model.ts), for the policy and the adapter-off reference, and differs from tau = 1;
// - the objective's logitTemperature reaches the loss: its log-probabilities are those at tau, not at 1;
// - the LoRA gradients of a GRPO loss at tau = 0.7 (beta > 0, ratios clipped both ways, old and reference
//   log-probabilities scored at tau) match central finite differences of the loss, on tiny Llama-GQA and
//   GPT-2: the backward's chain factor 1 / tau;
// - the rollout feed scores the old and reference log-probabilities, and the held-out policy's, at the
//   objective's temperature.

import { describe, expect, test } from 'vitest';
import { CpuBackend } from '../../src/engine/train/cpu/cpu-backend';
import { float64Adapter } from '../../src/engine/train/cpu/cpu-lora-adapter';
import { cpuObjectiveLoss, cpuObjectiveLossAndGrads, cpuTokenLogps } from '../../src/engine/train/cpu/cpu-lora-backward';
import { rolloutSequence, type RolloutSample } from '../../src/engine/train/grpo/grpo-objective';
import { RolloutFeed } from '../../src/engine/train/grpo/rollout-feed';
import type { RolloutSource, ScoredBatch } from '../../src/engine/train/grpo/rollout-source';
import { makeGrpoObjective } from '../../src/engine/train/objectives/make-objective';
import { IGNORE_INDEX, type TrainBatch } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import { logpsAtTemperature, maxAbsDiff } from '../helpers/grpo-rollouts';
import { ALL_LINEAR, randomLoraAdapter } from '../helpers/lora-fixtures';
import type { TinyKind } from '../helpers/tiny-models';
import { LORA_FD, useTinyTrainModels } from '../helpers/tiny-train-models';

const TAU = 0.7;
const KINDS: TinyKind[] = ['llama', 'gpt2'];
/** log(policy / old) per token, clear of the clip range [ln 0.8, ln 1.28]: inside, below, above. */
const LOG_RATIOS = [0.05, -0.5, 0.45, -0.08, 0.6, -0.4, 0.12];
const SHAPES = [
  { prompt: 3, completion: 5, advantage: 0.9 },
  { prompt: 2, completion: 4, advantage: -1.1 },
  { prompt: 1, completion: 6, advantage: 0.5 },
];
const { h: H, atol: ATOL, rtol: RTOL } = LORA_FD;

const models = useTinyTrainModels('tunelab-grpo-temperature-', KINDS);

function plainSamples(vocab: number, seed: number): RolloutSample[] {
  const rng = new Rng(seed);
  const ids = (n: number) => Array.from({ length: n }, () => 1 + rng.int(vocab - 1));
  return SHAPES.map((s) => ({ prompt: ids(s.prompt), completion: ids(s.completion), advantage: s.advantage, truncated: false }));
}



describe('CPU log-probabilities at a logit temperature', () => {
  for (const kind of KINDS) {
    test(`${kind}: logProbs at tau = log softmax(logits / tau) of the inference model; the objective's temperature reaches the loss`, async () => {
      const { loaded, cpu } = models.get(kind)!;
      const lora = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 2 }, 11);
      const backend = new CpuBackend(cpu, lora);
      const batch: TrainBatch = { sequences: plainSamples(loaded.config.vocabSize, 3).map((s) => rolloutSequence(s, false)) };
      // The reference is the base model (the adapter off): the inference model's own weights.
      for (const tau of [TAU, 1.6]) {
        const ours = await backend.logProbs(batch, 'reference', { temperature: tau });
        const expected = await logpsAtTemperature(loaded, batch, tau);
        // The inference model returns f32 logits: agreement to f32 rounding.
        expect(maxAbsDiff(ours, expected), `tau ${tau}`).toBeLessThan(1e-5);
        expect(maxAbsDiff(ours, await logpsAtTemperature(loaded, batch, 1)), `tau ${tau} differs from 1`).toBeGreaterThan(1e-2);
      }
      expect(maxAbsDiff(await backend.logProbs(batch, 'reference'), await logpsAtTemperature(loaded, batch, 1))).toBeLessThan(1e-5);
      // The policy (with the adapter) at tau: what the objective's loss pass computes when its temperature is tau.
      const policyAtTau = await backend.logProbs(batch, 'policy', { temperature: TAU });
      const objective = makeGrpoObjective({ temperature: TAU, beta: 0, numIterations: 1 });
      expect(objective.logitTemperature).toBe(TAU);
      const r = cpuObjectiveLossAndGrads(cpu, float64Adapter(lora), { batch, objective, totals: objective.totals([batch]) });
      expect(maxAbsDiff(r.logps, policyAtTau)).toBe(0);
      expect(maxAbsDiff(r.logps, await backend.logProbs(batch, 'policy'))).toBeGreaterThan(1e-2);
      expect(() => cpuTokenLogps(cpu, null, batch, { temperature: 0 })).toThrow(/temperature must be a positive finite number, got 0/);
    });
  }
});

describe('GRPO LoRA gradients at temperature 0.7 vs central finite differences (float64 CPU)', () => {
  for (const kind of KINDS) {
    test(`${kind}: dapo and grpo loss types, beta 0.05, clipped ratios`, { timeout: 30_000 }, async () => {
      const { loaded, cpu } = models.get(kind)!;
      const lora = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 2 }, 11);
      const backend = new CpuBackend(cpu, lora);
      const plain = plainSamples(loaded.config.vocabSize, 5);
      // Old and reference log-probabilities scored at tau, as the rollout feed does; old moved to clip both ways.
      const scoring: TrainBatch = { sequences: plain.map((s) => rolloutSequence(s, false)) };
      const policy = await backend.logProbs(scoring, 'policy', { temperature: TAU });
      const reference = await backend.logProbs(scoring, 'reference', { temperature: TAU });
      let k = 0;
      const part = (logps: Float64Array, s: RolloutSample) => logps.slice(s.prompt.length - 1, s.prompt.length - 1 + s.completion.length);
      const samples = plain.map((s, i) => ({ ...s, oldLogps: part(policy[i], s).map((lp) => lp - LOG_RATIOS[k++ % LOG_RATIOS.length]), refLogps: part(reference[i], s) }));
      const adapter = float64Adapter(lora);
      for (const lossType of ['dapo', 'grpo'] as const) {
        const objective = makeGrpoObjective({ temperature: TAU, lossType, beta: 0.05, epsilon: 0.2, epsilonHigh: 0.28, numIterations: 2 });
        const batch = objective.batch(samples);
        const call = { batch, objective, totals: objective.totals([batch]) };
        const { result, grads } = cpuObjectiveLossAndGrads(cpu, adapter, call);
        expect(result.metrics['clip_ratio/low_mean']).toBeGreaterThan(0);
        expect(result.metrics['clip_ratio/high_mean']).toBeGreaterThan(0);
        expect(result.metrics.kl).toBeGreaterThan(0);
        const rng = new Rng(3);
        let worst = 0;
        let largest = 0;
        for (const [module, m] of adapter.modules.entries()) {
          for (const param of ['a', 'b'] as const) {
            const index = rng.int(m[param].length);
            const saved = m[param][index];
            m[param][index] = saved + H;
            const up = cpuObjectiveLoss(cpu, adapter, call);
            m[param][index] = saved - H;
            const down = cpuObjectiveLoss(cpu, adapter, call);
            m[param][index] = saved;
            const fd = (up - down) / (2 * H);
            largest = Math.max(largest, Math.abs(fd));
            const analytic = grads[module][param][index];
            worst = Math.max(worst, Math.abs(analytic - fd) / (ATOL + RTOL * Math.abs(fd)));
            expect(Math.abs(analytic - fd), `${m.path}.${param}[${index}]`).toBeLessThanOrEqual(ATOL + RTOL * Math.abs(fd));
          }
        }
        console.log(`grpo ${lossType} at tau ${TAU}, ${kind}: worst ${worst.toFixed(3)} of allowed, max |fd| ${largest.toExponential(2)}`);
        expect(largest, 'the gradients are not all (near) zero').toBeGreaterThan(1e-4);
      }
    });
  }
});

/** Two fixed groups of G = 2 completions (rewards differ within each group, so advantages are non-zero). */
function fixedSource(vocab: number): RolloutSource {
  const rng = new Rng(8);
  const ids = (n: number) => Array.from({ length: n }, () => 1 + rng.int(vocab - 1));
  const batch: ScoredBatch = {
    groups: [0, 1].map((g) => ({
      prompt: ids(2 + g),
      promptText: `p${g}`,
      completions: [ids(4), ids(3 + g)].map((tokens, k) => ({ tokens, text: `c${g}${k}`, truncated: false })),
      rewards: Float64Array.from([1, -0.5 + g]),
      perFunction: {},
    })),
    failures: [],
    generatedTokens: 0,
    generationSeconds: 0,
    rewardSeconds: 0,
  };
  return { size: 2, heldOutSize: 2, train: async () => batch, heldOut: async () => batch };
}

describe('the rollout feed scores log-probabilities at the sampling temperature', () => {
  test('old and reference log-probabilities of a generation batch, and the held-out KL, at tau', async () => {
    const { loaded, cpu } = models.get('llama')!;
    const lora = randomLoraAdapter(loaded.config.architecture, loaded.weights, { ...ALL_LINEAR, r: 2 }, 11);
    const backend = new CpuBackend(cpu, lora);
    const objective = makeGrpoObjective({ temperature: TAU, beta: 0.05, numIterations: 2, numGenerations: 2, numGenerationsEval: 2 });
    const feed = new RolloutFeed(backend, objective, fixedSource(loaded.config.vocabSize), { batchSize: 2, gradAccum: 2, seed: 1 });
    const { micro } = await feed.next();
    expect(micro.length).toBeGreaterThan(0);
    for (const batch of micro) {
      const old = await backend.logProbs(batch, 'policy', { temperature: TAU });
      const ref = await backend.logProbs(batch, 'reference', { temperature: TAU });
      const atOne = await backend.logProbs(batch, 'policy');
      batch.sequences.forEach((s, i) => {
        expect(Array.from(s.rollout!.oldLogps!)).toEqual(Array.from(old[i]));
        expect(Array.from(s.rollout!.refLogps!)).toEqual(Array.from(ref[i]));
        expect(maxAbsDiff([s.rollout!.oldLogps!], [atOne[i]])).toBeGreaterThan(1e-2);
      });
    }
    // Held-out: the KL term of policy and reference at tau (the same loss as the objective on those log-probabilities).
    const fields = (await feed.evaluate())!;
    const heldOut = objective.batch(micro.flatMap((b) => b.sequences).map((s) => {
      const P = s.labels.findIndex((l) => l !== IGNORE_INDEX) + 1;
      return { prompt: Array.from(s.inputIds.subarray(0, P)), completion: Array.from(s.inputIds.subarray(P)), advantage: s.rollout!.advantage, truncated: false };
    }));
    const policy = await backend.logProbs(heldOut, 'policy', { temperature: TAU });
    const reference = await backend.logProbs(heldOut, 'reference', { temperature: TAU });
    let kl = 0;
    let tokens = 0;
    heldOut.sequences.forEach((s, i) => s.labels.forEach((l, t) => {
      if (l === IGNORE_INDEX) return;
      const d = reference[i][t] - policy[i][t];
      kl += Math.exp(d) - d - 1;
      tokens++;
    }));
    expect(fields.objective.eval_kl).toBeGreaterThan(0);
    expect(Math.abs(fields.objective.eval_kl - kl / tokens)).toBeLessThan(1e-12 * (kl / tokens));
  });
});
