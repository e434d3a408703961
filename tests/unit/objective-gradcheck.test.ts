// The preference objectives through the whole float64 CPU model: for DPO's four loss types, SimPO and ORPO,
// on tiny Llama (GQA), Qwen2 and GPT-2 with an all-linear adapter whose B is non-zero, the analytic LoRA
// gradients of the objective's loss (two pairs packed as four sequences, prompts unlabelled; the reference
// a different adapter) agree with central finite differences; and the reference computed in the step (the
// reference model's token log-probabilities) gives the loss the precomputed sums give.

import { describe, expect, test } from 'vitest';
import type { TokenizedPair } from '../../src/engine/data/tokenize-preference';
import { cpuObjectiveLoss, cpuObjectiveLossAndGrads, cpuTokenLogps } from '../../src/engine/train/cpu/cpu-lora-backward';
import { float64Adapter, type CpuLoraAdapter } from '../../src/engine/train/cpu/cpu-lora-adapter';
import { makeObjective } from '../../src/engine/train/objectives/make-objective';
import { responseSum, type TrainBatch } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import { ALL_LINEAR, randomLoraAdapter } from '../helpers/lora-fixtures';
import { PREFERENCE_CASES } from '../helpers/preference-cases';
import type { TinyKind } from '../helpers/tiny-models';
import { LORA_FD, useTinyTrainModels } from '../helpers/tiny-train-models';

const KINDS: TinyKind[] = ['llama', 'qwen2', 'gpt2'];
const { h: H, atol: ATOL, rtol: RTOL } = LORA_FD;
const SAMPLES_PER_MODULE = 2;


const models = useTinyTrainModels('tunelab-objective-gradcheck-', KINDS);

/** Two pairs of random ids: prompts of 3 and 2 tokens, answers of 2 to 4 tokens. */
function pairs(vocab: number, seed: number): TokenizedPair[] {
  const rng = new Rng(seed);
  const ids = (n: number) => Array.from({ length: n }, () => 1 + rng.int(vocab - 1));
  return [
    { line: 1, prompt: ids(3), chosen: ids(3), rejected: ids(2) },
    { line: 2, prompt: ids(2), chosen: ids(2), rejected: ids(4) },
  ];
}

/** Elements of every module's A and B, a few each (B across its slots' row blocks). */
function sample(adapter: CpuLoraAdapter, rng: Rng): { module: number; param: 'a' | 'b'; index: number }[] {
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

describe('preference objectives: LoRA gradients through the whole model vs central finite differences (float64)', () => {
  for (const m of PREFERENCE_CASES) {
    for (const kind of KINDS) {
      test(`${m.name}, ${kind}`, { timeout: 30_000 }, () => {
        const { loaded, cpu } = models.get(kind)!;
        const mc = loaded.config;
        const adapter = float64Adapter(randomLoraAdapter(mc.architecture, loaded.weights, { ...ALL_LINEAR, r: 2 }, 11));
        const referenceAdapter = float64Adapter(randomLoraAdapter(mc.architecture, loaded.weights, { ...ALL_LINEAR, r: 2 }, 12));
        const objective = makeObjective(m.method, m.settings);
        const plain = objective.batch(pairs(mc.vocabSize, 5));
        // The reference as precomputed sums (fixed while the policy is perturbed).
        const refLogps = cpuTokenLogps(cpu, referenceAdapter, plain);
        const batch: TrainBatch = objective.needsReference ? { ...plain, reference: Float64Array.from(plain.sequences.map((s, i) => responseSum(s, refLogps[i]).sum)) } : plain;
        // Totals of a larger step (as with gradient accumulation): the loss is normalised by them.
        const own = objective.totals([batch]);
        const totals = { pairs: own.pairs + 1, chosenTokens: own.chosenTokens + 3 };

        const { result, grads } = cpuObjectiveLossAndGrads(cpu, adapter, { batch, objective, totals });
        const lossOf = () => cpuObjectiveLoss(cpu, adapter, { batch, objective, totals });
        expect(result.loss).toBe(lossOf());
        if (objective.needsReference) {
          // The reference computed in the step gives the same loss as its precomputed sums.
          const inStep = cpuObjectiveLossAndGrads(cpu, adapter, { batch: plain, objective, totals }, { reference: referenceAdapter });
          expect(Math.abs(inStep.result.loss - result.loss)).toBeLessThanOrEqual(1e-12 * Math.abs(result.loss));
        }

        let worst = { ratio: 0, where: '', analytic: 0, fd: 0 };
        let largest = 0;
        for (const s of sample(adapter, new Rng(3))) {
          const values = adapter.modules[s.module][s.param];
          const saved = values[s.index];
          values[s.index] = saved + H;
          const up = lossOf();
          values[s.index] = saved - H;
          const down = lossOf();
          values[s.index] = saved;
          const fd = (up - down) / (2 * H);
          const analytic = grads[s.module][s.param][s.index];
          const ratio = Math.abs(analytic - fd) / (ATOL + RTOL * Math.abs(fd));
          largest = Math.max(largest, Math.abs(fd));
          if (ratio > worst.ratio) worst = { ratio, where: `${adapter.modules[s.module].path}.${s.param}[${s.index}]`, analytic, fd };
        }
        console.log(`${m.name}, ${kind}: loss ${result.loss.toFixed(6)}; worst ${worst.where}: analytic ${worst.analytic.toExponential(6)} fd ${worst.fd.toExponential(6)} (${worst.ratio.toFixed(3)} of allowed)`);
        expect(worst.ratio, worst.where).toBeLessThanOrEqual(1);
        expect(largest, 'the gradients are not all (near) zero').toBeGreaterThan(1e-4);
      });
    }
  }
});
