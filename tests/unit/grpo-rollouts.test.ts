import { describe, expect, it } from 'vitest';
import { GRPO_DEFAULTS } from '../../src/engine/train/grpo/grpo-config';
import { entropyAt, sampleToken } from '../../src/engine/model/sampling';
import { rolloutSeed, sampleGroups, type RolloutPrompt } from '../../src/engine/train/grpo/rollouts';
import { Rng } from '../../src/engine/util/rng';
import { bigram, FakeLm, fakeConfig } from '../helpers/fake-lm';

const V = 24;
const table = new Rng(5).f32(V * V, -2, 2);
const prompts: RolloutPrompt[] = [[1, 4], [2], [3, 7, 9], [5, 6]].map((prompt, i) => ({ prompt, promptText: `p${i}`, fields: { i } }));
const config = { ...GRPO_DEFAULTS, maxCompletionLength: 6 };
const lm = () => new FakeLm(fakeConfig(V, 64), bigram(V, table));

describe('GRPO rollout sampling', () => {
  it('gives the same completions however the prompts are chunked, and the batches decode at most maxSequences together', async () => {
    const whole = await sampleGroups(lm(), prompts, { config, perPrompt: 3, seed: 11 });
    const chunkedLm = lm();
    const chunked = await sampleGroups(chunkedLm, prompts, { config, perPrompt: 3, seed: 11, maxSequences: 7 });
    expect(chunked.groups.map((g) => g.completions.map((c) => c.tokens))).toEqual(whole.groups.map((g) => g.completions.map((c) => c.tokens)));
    expect(chunked.tokens).toBe(whole.tokens);
    expect(chunked.entropySum).toBeCloseTo(whole.entropySum, 9);
    // 7 sequences at most: two prompts (6 sequences) per decode, so the prefills hold 6 and 6 sequences.
    const prefills = chunkedLm.calls.filter((c) => c.requests.every((r) => r.before === 0));
    expect(Math.max(...chunkedLm.calls.map((c) => c.requests.length))).toBeLessThanOrEqual(6);
    expect(prefills.map((c) => c.requests.length)).toEqual([6, 6]);
    // Groups keep their prompt and record, in order; completions of one prompt differ (distinct seeds).
    expect(chunked.groups.map((g) => g.prompt.fields.i)).toEqual([0, 1, 2, 3]);
    expect(new Set(whole.groups.flatMap((g) => g.completions.map((c) => c.tokens.join(',')))).size).toBeGreaterThan(4);
    const again = await sampleGroups(lm(), prompts, { config, perPrompt: 3, seed: 12 });
    expect(again.groups.map((g) => g.completions.map((c) => c.tokens))).not.toEqual(whole.groups.map((g) => g.completions.map((c) => c.tokens)));
  });

  it('flags completions cut by the length limit as truncated', async () => {
    const { groups } = await sampleGroups(lm(), prompts, { config, perPrompt: 2, seed: 3 });
    const completions = groups.flatMap((g) => g.completions);
    for (const c of completions) expect(c.truncated).toBe(c.finish === 'length' && c.tokens.length === config.maxCompletionLength);
    // Both kinds occur, so the flag is tested both ways.
    expect(completions.some((c) => c.truncated) && completions.some((c) => !c.truncated)).toBe(true);
  });

  it('entropyAt is the entropy of softmax(logits / T); rolloutSeed separates generation batches', () => {
    const l = Math.fround(Math.log(3));
    const logits = Float32Array.from([0, l]);
    const binary = (p: number) => -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    // p(first) = 1 / (1 + e^l) (about 1/4) at T = 1; at T = 2 the logits halve.
    expect(entropyAt(logits, 1)).toBeCloseTo(binary(1 / (1 + Math.exp(l))), 12);
    expect(entropyAt(logits, 2)).toBeCloseTo(binary(1 / (1 + Math.exp(l / 2))), 12);
    // A draw reports the entropy from its own pass over the vocabulary (full vocabulary) and from entropyAt (top-k).
    const wide = new Rng(2).f32(300, -3, 3);
    for (const topK of [0, 5]) {
      const stats = { entropy: NaN };
      sampleToken(wide, { temperature: 0.8, topK, doSample: true }, new Rng(1), [], stats);
      expect(stats.entropy, `top-k ${topK}`).toBeCloseTo(entropyAt(wide, 0.8), 10);
    }
    const seeds = new Set(Array.from({ length: 1000 }, (_, i) => rolloutSeed(7, i)));
    expect(seeds.size).toBe(1000);
    expect(rolloutSeed(7, 3)).toBe(rolloutSeed(7, 3));
    expect(rolloutSeed(8, 3)).not.toBe(rolloutSeed(7, 3));
  });
});
