// The training bench's DPO comparison: the three objectives train the same prompts and answers (SFT exactly
// the chosen sequences DPO packs), and each DPO row's step cost is checked against its model's SFT row with
// issue 9's limits (bench/core/train-workloads.ts, bench/core/dpo-cost.ts).

import { describe, expect, it } from 'vitest';
import { DPO_STEP_LIMITS, dpoCostChecks } from '../../bench/core/dpo-cost';
import { makeWorkload, promptTokens, randomPairs } from '../../bench/core/train-workloads';
import type { TrainObjectiveId, TrainRun } from '../../bench/core/types';
import type { GpuTrainer } from '../../src/engine/train/gpu/gpu-train-step';
import { IGNORE_INDEX, trainedTokens } from '../../src/engine/train/train-batch';

/** SFT and DPO with the reference pass build their batches without touching the trainer. */
const noTrainer = undefined as unknown as GpuTrainer;

function row(objective: TrainObjectiveId, stepS: number[], extra: Partial<TrainRun> = {}): TrainRun {
  const sequences = objective === 'sft' ? 8 : 16;
  return {
    model: 'stories260K',
    objective,
    objectiveLabel: objective,
    description: 'stories260K',
    weightFormat: 'f16',
    seqLen: 256,
    batch: 8,
    sequences,
    promptTokens: 64,
    referencePass: objective === 'dpo-ref',
    tokensPerStep: sequences * 256,
    trainedTokensPerStep: sequences * 192,
    warmupSteps: 2,
    stepS,
    ...extra,
  };
}

describe('training bench workloads', () => {
  it('gives the prompt about a quarter of T and leaves an answer', () => {
    expect(promptTokens(256)).toBe(64);
    expect(promptTokens(2)).toBe(1);
    expect(promptTokens(3)).toBe(1);
    expect(() => promptTokens(1)).toThrow(/T >= 2/);
  });

  it('draws the same pairs for a step index, T tokens per sequence', () => {
    const a = randomPairs(3, 2, 16, 512);
    expect(randomPairs(3, 2, 16, 512)).toEqual(a);
    expect(randomPairs(4, 2, 16, 512)).not.toEqual(a);
    for (const p of a) {
      expect(p.prompt.length).toBe(4);
      expect(p.prompt.length + p.chosen.length).toBe(16);
      expect(p.rejected.length).toBe(p.chosen.length);
      expect([...p.prompt, ...p.chosen, ...p.rejected].every((id) => Number.isInteger(id) && id >= 0 && id < 512)).toBe(true);
    }
  });

  it("trains SFT on exactly the chosen sequences of DPO's batch, labels on the answer only", async () => {
    const pairs = randomPairs(0, 3, 16, 512);
    const sft = await makeWorkload('sft').prepare(noTrainer, pairs);
    const dpo = await makeWorkload('dpo-ref').prepare(noTrainer, pairs);
    expect(sft.batch.sequences).toHaveLength(3);
    expect(dpo.batch.sequences).toHaveLength(6);
    sft.batch.sequences.forEach((s, p) => {
      const chosen = dpo.batch.sequences[2 * p];
      expect(s.inputIds).toEqual(chosen.inputIds);
      expect(s.labels).toEqual(chosen.labels);
      // Positions 3..14 predict the 12 answer tokens; the prompt's and the last position predict nothing.
      expect([...s.labels].map((l) => l !== IGNORE_INDEX)).toEqual([...Array(16)].map((_, t) => t >= 3 && t < 15));
    });
    expect(trainedTokens(sft.batch)).toBe(3 * 12);
    expect(sft.rule).toEqual({ kind: 'constant', scale: 1 / 36 });
    expect(sft.referencePass).toBe(false);
    expect(dpo.rule).toMatchObject({ kind: 'preference', pairs: 3 });
    expect(dpo.referencePass).toBe(true);
    expect(dpo.batch.reference).toBeUndefined();
  });

  it('counts sequences per step: B for SFT, 2B for DPO', () => {
    expect(makeWorkload('sft').sequences(8)).toBe(8);
    expect(makeWorkload('dpo-cached').sequences(8)).toBe(16);
    expect(makeWorkload('dpo-ref').sequences(8)).toBe(16);
    expect(makeWorkload('dpo-cached').referencePass).toBe(false);
  });
});

describe('DPO step cost against SFT', () => {
  it("uses issue 9's limits", () => {
    expect(DPO_STEP_LIMITS).toEqual({ 'dpo-cached': 2.3, 'dpo-ref': 3.3 });
  });

  it('divides mean step times and gives a verdict per DPO row', () => {
    const checks = dpoCostChecks([row('sft', [1, 3]), row('dpo-cached', [4, 5]), row('dpo-ref', [7, 7, 10])]);
    expect(checks).toHaveLength(2);
    const [cached, ref] = checks;
    expect(cached).toMatchObject({ model: 'stories260K', objective: 'dpo-cached', seqLen: 256, batch: 8, limit: 2.3, ok: true });
    expect(cached.ratio).toBeCloseTo(4.5 / 2, 12);
    expect(cached.medianRatio).toBeCloseTo(4.5 / 2, 12);
    expect(cached.bestRatio).toBeCloseTo(4 / 1, 12);
    expect(cached.sftTokensPerS).toBeCloseTo(2048 / 2, 9);
    expect(cached.dpoTokensPerS).toBeCloseTo(4096 / 4.5, 9);
    expect(ref).toMatchObject({ objective: 'dpo-ref', limit: 3.3, ok: false });
    expect(ref.ratio).toBeCloseTo(8 / 2, 12);
    expect(ref.medianRatio).toBeCloseTo(7 / 2, 12);
    expect(ref.bestRatio).toBeCloseTo(7 / 1, 12);
  });

  it('passes at the limit exactly and fails just above it', () => {
    expect(dpoCostChecks([row('sft', [1]), row('dpo-cached', [2.3])])[0].ok).toBe(true);
    expect(dpoCostChecks([row('sft', [1]), row('dpo-cached', [2.31])])[0].ok).toBe(false);
  });

  it('checks nothing without a timed SFT row of the same model, B and T', () => {
    expect(dpoCostChecks([row('dpo-cached', [2])])).toEqual([]);
    expect(dpoCostChecks([row('sft', [1], { error: 'boom' }), row('dpo-cached', [2])])).toEqual([]);
    expect(dpoCostChecks([row('sft', [1], { seqLen: 128 }), row('dpo-cached', [2])])).toEqual([]);
    expect(dpoCostChecks([row('sft', [1], { model: 'smollm2-135m' }), row('dpo-cached', [2])])).toEqual([]);
    expect(dpoCostChecks([row('sft', [1]), row('dpo-ref', [], { error: 'boom' })])).toEqual([]);
  });
});
