// The preference objectives' float64 math: each loss against a direct transcription of TRL's formula at
// fixed values, every derivative against central finite differences, the objective's per-token gradients
// against finite differences of its loss, the ORPO NLL over the chosen sequence's prompt and answer, and
// the fresh-adapter identities (policy = reference: sigmoid loss log 2, rewards and margins 0).

import { describe, expect, it } from 'vitest';
import { PREFERENCE_DEFAULTS, validatePreferenceConfig, type DpoLossType, type PreferenceConfig } from '../../src/engine/train/objectives/preference-config';
import { log1mexp, logSigmoid, pairLoss, type PairStats } from '../../src/engine/train/objectives/preference-math';
import { PreferenceObjective } from '../../src/engine/train/objectives/preference-objective';
import { IGNORE_INDEX, responseSum } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';

const H = 1e-6;

function config(over: Partial<PreferenceConfig> & Pick<PreferenceConfig, 'method'>): PreferenceConfig {
  return { ...PREFERENCE_DEFAULTS, ...over };
}

const PAIR: PairStats = { chosen: -12.5, rejected: -14.25, chosenTokens: 7, rejectedTokens: 9, refChosen: -13.0, refRejected: -13.5 };

const CASES: PreferenceConfig[] = [
  ...(['sigmoid', 'ipo', 'hinge', 'robust'] as DpoLossType[]).map((lossType) => config({ method: 'dpo', lossType, beta: 0.3, labelSmoothing: lossType === 'robust' || lossType === 'sigmoid' ? 0.1 : 0 })),
  config({ method: 'dpo', lossType: 'sigmoid', beta: 0.1, labelSmoothing: 0 }),
  config({ method: 'simpo', beta: 2, simpoGamma: 0.5, labelSmoothing: 0.05 }),
  config({ method: 'orpo', orpoLambda: 0.2 }),
];

const label = (c: PreferenceConfig) => `${c.method}${c.method === 'dpo' ? `/${c.lossType}` : ''} (beta ${c.beta}, e ${c.labelSmoothing})`;

describe('pair losses', () => {
  it('equal TRL formulas transcribed at fixed values', () => {
    const b = 0.3;
    const e = 0.1;
    const h = PAIR.chosen - PAIR.refChosen! - (PAIR.rejected - PAIR.refRejected!); // 1.25
    expect(h).toBe(1.25);
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    expect(pairLoss(config({ method: 'dpo', lossType: 'sigmoid', beta: b, labelSmoothing: e }), PAIR).loss).toBeCloseTo(-(1 - e) * Math.log(sig(b * h)) - e * Math.log(sig(-b * h)), 14);
    expect(pairLoss(config({ method: 'dpo', lossType: 'robust', beta: b, labelSmoothing: e }), PAIR).loss).toBeCloseTo((-(1 - e) * Math.log(sig(b * h)) + e * Math.log(sig(-b * h))) / (1 - 2 * e), 14);
    expect(pairLoss(config({ method: 'dpo', lossType: 'hinge', beta: b }), PAIR).loss).toBeCloseTo(1 - b * h, 14);
    const ipoGap = (PAIR.chosen - PAIR.refChosen!) / 7 - (PAIR.rejected - PAIR.refRejected!) / 9 - 1 / (2 * b);
    expect(pairLoss(config({ method: 'dpo', lossType: 'ipo', beta: b }), PAIR).loss).toBeCloseTo(ipoGap * ipoGap, 14);
    const m = PAIR.chosen / 7 - PAIR.rejected / 9;
    expect(pairLoss(config({ method: 'simpo', beta: 2, simpoGamma: 0.5 }), PAIR).loss).toBeCloseTo(-Math.log(sig(2 * (m - 0.25))), 14);
    const mc = PAIR.chosen / 7;
    const mr = PAIR.rejected / 9;
    const z = mc - mr - (Math.log(1 - Math.exp(mc)) - Math.log(1 - Math.exp(mr)));
    const orpo = pairLoss(config({ method: 'orpo', orpoLambda: 0.2 }), PAIR);
    expect(orpo.loss).toBeCloseTo(-0.2 * Math.log(sig(z)), 14);
    expect(orpo.logOddsChosen).toBeCloseTo(z, 12);
    // Rewards: DPO beta * log-ratio (summed); SimPO beta * mean log-prob; ORPO lambda * mean log-prob.
    const dpo = pairLoss(config({ method: 'dpo', lossType: 'ipo', beta: b }), PAIR);
    expect(dpo.rewardChosen).toBeCloseTo(b * (PAIR.chosen - PAIR.refChosen!), 14);
    expect(dpo.logpRejected).toBe(PAIR.rejected);
    expect(orpo.rewardRejected).toBeCloseTo(0.2 * mr, 14);
  });

  it.each(CASES.map((c) => [label(c), c] as const))('%s: derivatives match central differences', (_name, c) => {
    const at = (chosen: number, rejected: number) => pairLoss(c, { ...PAIR, chosen, rejected }).loss;
    const p = pairLoss(c, PAIR);
    const fdChosen = (at(PAIR.chosen + H, PAIR.rejected) - at(PAIR.chosen - H, PAIR.rejected)) / (2 * H);
    const fdRejected = (at(PAIR.chosen, PAIR.rejected + H) - at(PAIR.chosen, PAIR.rejected - H)) / (2 * H);
    expect(Math.abs(p.dChosen)).toBeGreaterThan(1e-4);
    expect(p.dChosen).toBeCloseTo(fdChosen, 8);
    expect(p.dRejected).toBeCloseTo(fdRejected, 8);
  });

  it('hinge has no gradient once the margin is met', () => {
    const met = pairLoss(config({ method: 'dpo', lossType: 'hinge', beta: 1 }), { ...PAIR, chosen: -5 });
    expect(met.loss).toBe(0);
    expect(met.dChosen).toBe(0);
  });

  it('log1mexp and logSigmoid stay accurate where the naive forms lose digits', () => {
    expect(log1mexp(-1e-10)).toBeCloseTo(Math.log(1e-10), 6); // 1 - exp(-1e-10) ~ 1e-10
    expect(log1mexp(-50)).toBeCloseTo(-Math.exp(-50), 30);
    expect(logSigmoid(-800)).toBe(-800);
    expect(logSigmoid(40)).toBeCloseTo(-Math.exp(-40), 30);
  });

  it('validation names the field', () => {
    expect(() => validatePreferenceConfig(config({ method: 'dpo', beta: 0 }))).toThrow(/beta/);
    expect(() => validatePreferenceConfig(config({ method: 'dpo', lossType: 'robust', labelSmoothing: 0.5 }))).toThrow(/label smoothing/);
    expect(() => validatePreferenceConfig(config({ method: 'dpo', lossType: 'kto' as DpoLossType }))).toThrow(/loss type "kto"/);
  });
});

/** Random pairs of token ids with prompts of 0..3 tokens and answers of 1..5. */
function randomPairs(rng: Rng, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    line: i + 1,
    prompt: Array.from({ length: i % 4 }, () => 3 + rng.int(40)),
    chosen: Array.from({ length: 1 + rng.int(5) }, () => 3 + rng.int(40)),
    rejected: Array.from({ length: 1 + rng.int(5) }, () => 3 + rng.int(40)),
  }));
}

function randomLogps(rng: Rng, lengths: number[]): Float64Array[] {
  return lengths.map((T) => Float64Array.from({ length: T }, () => -0.05 - 3 * rng.next()));
}

describe('PreferenceObjective', () => {
  it('packs pair p as sequences 2p (chosen) and 2p + 1 (rejected) with labels on the answer', () => {
    const dpo = new PreferenceObjective(config({ method: 'dpo' }));
    const batch = dpo.batch([{ line: 1, prompt: [1, 5, 6], chosen: [7, 8], rejected: [9] }]);
    expect(Array.from(batch.sequences[0].inputIds)).toEqual([1, 5, 6, 7, 8]);
    expect(Array.from(batch.sequences[0].labels)).toEqual([IGNORE_INDEX, IGNORE_INDEX, 7, 8, IGNORE_INDEX]);
    expect(Array.from(batch.sequences[1].labels)).toEqual([IGNORE_INDEX, IGNORE_INDEX, 9, IGNORE_INDEX]);
    // ORPO labels the chosen prompt too (its NLL), but only the answer is the response.
    const orpo = new PreferenceObjective(config({ method: 'orpo' })).batch([{ line: 1, prompt: [1, 5, 6], chosen: [7, 8], rejected: [9] }]);
    expect(Array.from(orpo.sequences[0].labels)).toEqual([5, 6, 7, 8, IGNORE_INDEX]);
    expect(Array.from(orpo.sequences[0].response!)).toEqual([0, 0, 1, 1, 0]);
    expect(Array.from(orpo.sequences[1].labels)).toEqual([IGNORE_INDEX, IGNORE_INDEX, 9, IGNORE_INDEX]);
    expect(orpo.sequences.length).toBe(2);
  });

  it.each(CASES.map((c) => [label(c), c] as const))('%s: token gradients match finite differences of the loss', (_name, c) => {
    const rng = new Rng(11);
    const objective = new PreferenceObjective(c);
    const batch = objective.batch(randomPairs(rng, 3));
    const lengths = batch.sequences.map((s) => s.inputIds.length);
    const policy = randomLogps(rng, lengths);
    const reference = randomLogps(rng, lengths);
    // Totals as if this micro-batch were one of two in the step: the loss is normalised by the step.
    const totals = { pairs: 5, chosenTokens: objective.totals([batch]).chosenTokens + 4 };
    const result = objective.evaluate({ batch, policy, reference }, totals);
    let checked = 0;
    batch.sequences.forEach((s, i) => {
      for (let t = 0; t < s.labels.length; t++) {
        const saved = policy[i][t];
        policy[i][t] = saved + H;
        const up = objective.evaluate({ batch, policy, reference }, totals).loss;
        policy[i][t] = saved - H;
        const down = objective.evaluate({ batch, policy, reference }, totals).loss;
        policy[i][t] = saved;
        expect(result.tokenGrads[i][t]).toBeCloseTo((up - down) / (2 * H), 8);
        if (s.labels[t] === IGNORE_INDEX) expect(result.tokenGrads[i][t]).toBe(0);
        else checked++;
      }
    });
    expect(checked).toBeGreaterThan(10);
  });

  it('precomputed reference sums give the same loss as reference token log-probs', () => {
    const rng = new Rng(5);
    const objective = new PreferenceObjective(config({ method: 'dpo', beta: 0.5 }));
    const batch = objective.batch(randomPairs(rng, 4));
    const lengths = batch.sequences.map((s) => s.inputIds.length);
    const policy = randomLogps(rng, lengths);
    const reference = randomLogps(rng, lengths);
    const totals = objective.totals([batch]);
    const inStep = objective.evaluate({ batch, policy, reference }, totals);
    const sums = Float64Array.from(batch.sequences.map((s, i) => responseSum(s, reference[i]).sum));
    const cached = objective.evaluate({ batch: { ...batch, reference: sums }, policy }, totals);
    expect(cached.loss).toBe(inStep.loss);
    expect(cached.metrics).toEqual(inStep.metrics);
  });

  it('with policy = reference: sigmoid loss log 2, rewards, margins and reward accuracy 0', () => {
    const rng = new Rng(9);
    const objective = new PreferenceObjective(config({ method: 'dpo' }));
    const batch = objective.batch(randomPairs(rng, 3));
    const logps = randomLogps(rng, batch.sequences.map((s) => s.inputIds.length));
    const r = objective.evaluate({ batch, policy: logps, reference: logps }, objective.totals([batch]));
    expect(r.loss).toBe(Math.LN2);
    expect(r.metrics['rewards/chosen']).toBe(0);
    expect(r.metrics['rewards/rejected']).toBe(0);
    expect(r.metrics['rewards/margins']).toBe(0);
    expect(r.metrics['rewards/accuracies']).toBe(0);
  });

  it('ORPO adds the mean NLL of the chosen sequences, prompt tokens included', () => {
    const objective = new PreferenceObjective(config({ method: 'orpo', orpoLambda: 0 }));
    const batch = objective.batch([{ line: 1, prompt: [1, 2], chosen: [3, 4], rejected: [5] }]);
    // Chosen labels at positions 0, 1, 2 (tokens 2, 3, 4): NLL = (0.5 + 1 + 2) / 3 with lambda 0.
    const policy = [Float64Array.from([-0.5, -1, -2, 0]), Float64Array.from([0, -3, 0])];
    const r = objective.evaluate({ batch, policy }, objective.totals([batch]));
    expect(r.loss).toBeCloseTo(3.5 / 3, 15);
    expect(r.metrics.nll_loss).toBeCloseTo(3.5 / 3, 15);
    expect(Array.from(r.tokenGrads[0])).toEqual([-1 / 3, -1 / 3, -1 / 3, 0]);
  });
});
