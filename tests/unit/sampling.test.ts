import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../src/engine/model/config';
import { resolveGenerateOptions, samplingDefaults } from '../../src/engine/model/generation-options';
import { applyRepetitionPenalty, argmax, NonFiniteLogitsError, sampleToken } from '../../src/engine/model/sampling';
import { Rng } from '../../src/engine/util/rng';

const DRAWS = 20_000;
// One draw's indicator has standard deviation <= 0.5, so a frequency's standard error is <= 0.5 / sqrt(20000)
// = 0.0035; 0.015 is over 4 of them (and the seed is fixed, so the test is deterministic).
const FREQ_TOL = 0.015;

function softmax(logits: number[], temperature = 1): number[] {
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp((l - m) / temperature));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

function frequencies(logits: Float32Array, options: Parameters<typeof sampleToken>[1], seed = 7): number[] {
  const rng = new Rng(seed);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < DRAWS; i++) counts[sampleToken(logits, options, rng)]++;
  return counts.map((c) => c / DRAWS);
}

function expectFrequencies(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((f, i) => expect(Math.abs(f - expected[i]), `token ${i}: ${f} vs ${expected[i]}`).toBeLessThan(FREQ_TOL));
}

const LOGITS = [2.0, 1.0, 0.5, 0.0, -1.0, 1.5];
const logits = Float32Array.from(LOGITS);

describe('sampleToken', () => {
  it('refuses NaN and +Infinity logits when greedy (argmax answered token 0 for a leading NaN) and when sampling', () => {
    const rng = new Rng(1);
    expect(() => argmax([NaN, 1, 2])).toThrow(new NonFiniteLogitsError(0, NaN));
    expect(() => sampleToken(Float32Array.from([1, 3, NaN, 2]), { temperature: 0 }, rng)).toThrow('the logits hold NaN for token id 2, so no next token can be chosen');
    expect(() => sampleToken(Float32Array.from([1, Infinity, 2]), { temperature: 0 }, rng)).toThrow('the logits hold Infinity for token id 1');
    expect(() => sampleToken(Float32Array.from([1, 2, NaN]), { temperature: 1 }, rng)).toThrow('the logits hold NaN for token id 2');
    expect(() => sampleToken(Float32Array.from([1, 2, NaN]), { temperature: 1, topK: 2 }, rng)).toThrow(NonFiniteLogitsError);
    // -Infinity is a token that can never be chosen, not a broken forward pass.
    expect(sampleToken(Float32Array.from([-Infinity, 1, -Infinity]), { temperature: 0 }, rng)).toBe(1);
    expect(sampleToken(Float32Array.from([-Infinity, 1, -Infinity]), { temperature: 1 }, rng)).toBe(1);
  });

  it('is greedy at temperature 0 and when doSample is false, lowest index on ties', () => {
    const rng = new Rng(1);
    expect(sampleToken(logits, { temperature: 0 }, rng)).toBe(0);
    expect(sampleToken(Float32Array.from([1, 3, 3, 2]), { temperature: 0 }, rng)).toBe(1);
    expect(sampleToken(Float32Array.from([1, 3, 3, 2]), { temperature: 0.9, doSample: false }, rng)).toBe(1);
    expect(argmax([-5, -1, -1])).toBe(1);
  });

  it('top-k 1 and a tiny top-p equal greedy', () => {
    const rng = new Rng(3);
    const shuffled = Float32Array.from([0.1, 0.3, 2.5, 2.4, -1, 2.49]);
    for (let i = 0; i < 200; i++) {
      expect(sampleToken(shuffled, { temperature: 1.5, topK: 1 }, rng)).toBe(2);
      expect(sampleToken(shuffled, { temperature: 1.5, topP: 1e-6 }, rng)).toBe(2);
    }
  });

  it('draws from softmax(logits / T): 20k draws match within 0.015', () => {
    expectFrequencies(frequencies(logits, { temperature: 1 }), softmax(LOGITS));
    expectFrequencies(frequencies(logits, { temperature: 0.5 }), softmax(LOGITS, 0.5));
    expectFrequencies(frequencies(logits, { temperature: 2 }), softmax(LOGITS, 2));
  });

  it('top-k 2 never leaves the two best tokens and keeps their ratio', () => {
    const f = frequencies(logits, { temperature: 1, topK: 2 });
    expect(f[1] + f[2] + f[3] + f[4]).toBe(0);
    const p = softmax([2.0, 1.5]);
    expectFrequencies([f[0], f[5]], p);
  });

  it('top-p keeps the smallest set reaching p, renormalised', () => {
    // Sorted probabilities of LOGITS: 0.420 (token 0), 0.255 (5), 0.154 (1), 0.094 (2), 0.057 (3), 0.021 (4).
    // Cumulative 0.420, 0.674, 0.828: p = 0.7 needs tokens 0, 5 and 1.
    const full = softmax(LOGITS);
    const f = frequencies(logits, { temperature: 1, topP: 0.7 });
    expect(f[2] + f[3] + f[4]).toBe(0);
    const kept = [full[0], full[5], full[1]];
    const s = kept.reduce((a, b) => a + b, 0);
    expectFrequencies([f[0], f[5], f[1]], kept.map((p) => p / s));
  });

  it('applies top-p to the top-k survivors (transformers order)', () => {
    // top-k 2 leaves tokens 0 and 5 with 0.62 / 0.38: p = 0.5 keeps token 0 only.
    const f = frequencies(logits, { temperature: 1, topK: 2, topP: 0.5 });
    expect(f[0]).toBe(1);
  });

  it('gives the same tokens for the same seed and different ones for another', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 64 }, () => sampleToken(logits, { temperature: 1, topK: 4, topP: 0.9 }, rng));
    };
    expect(draw(11)).toEqual(draw(11));
    expect(draw(11)).not.toEqual(draw(12));
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens', () => {
    const out = applyRepetitionPenalty(Float32Array.from([2, -1, 3, 0.5]), 2, [0, 1, 1]);
    expect([...out]).toEqual([1, -2, 3, 0.5]);
  });

  it('repetition penalty changes the greedy choice in a constructed case', () => {
    // Token 0 (3.0) beats token 1 (2.0) until it was seen: 3.0 / 1.6 = 1.875 < 2.0.
    const l = Float32Array.from([3.0, 2.0, -0.5]);
    const rng = new Rng(0);
    expect(sampleToken(l, { temperature: 0 }, rng, [2])).toBe(0);
    expect(sampleToken(l, { temperature: 0, repetitionPenalty: 1.6 }, rng, [0, 2])).toBe(1);
    // A seen negative logit gets more negative: token 2 (-0.5 -> -0.8) stays last.
    expect([...applyRepetitionPenalty(l, 1.6, [2])][2]).toBeCloseTo(-0.8, 6);
  });

  it('samples exactly over a large vocabulary with top-p (pre-filtered tail)', () => {
    // 50k logits where three tokens hold ~99.9% of the mass: top-p 0.9 must pick among them in proportion.
    const V = 50_000;
    const big = new Float32Array(V).fill(-10);
    big[40_000] = 8;
    big[123] = 7.5;
    big[7] = 6;
    const rng = new Rng(5);
    const counts = new Map<number, number>();
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const t = sampleToken(big, { temperature: 1, topP: 0.9 }, rng);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([123, 40_000]);
    const p = softmax([8, 7.5]);
    // Standard error sqrt(0.62 * 0.38 / 2000) = 0.011; 0.045 is 4 of them.
    expect(Math.abs(counts.get(40_000)! / n - p[0])).toBeLessThan(0.045);
  });

  it('rejects bad options by name', () => {
    const rng = new Rng(0);
    expect(() => sampleToken(logits, { temperature: -1 }, rng)).toThrow(/temperature/);
    expect(() => sampleToken(logits, { topK: 1.5 }, rng)).toThrow(/top-k/);
    expect(() => sampleToken(logits, { topP: 0 }, rng)).toThrow(/top-p/);
    expect(() => sampleToken(logits, { repetitionPenalty: 0 }, rng)).toThrow(/repetition penalty/);
  });
});

describe('generation options from generation_config.json', () => {
  const config = parseModelConfig({ model_type: 'llama', hidden_size: 8, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 16, eos_token_id: 2 });

  it('uses the file, with transformers defaults for what it leaves out', () => {
    expect(samplingDefaults({ do_sample: true, temperature: 0.6, top_p: 0.9 })).toEqual({
      doSample: true,
      temperature: 0.6,
      topK: 50,
      topP: 0.9,
      repetitionPenalty: 1,
    });
    expect(samplingDefaults(undefined).doSample).toBe(false);
  });

  it('lets the caller override, a temperature deciding greedy or sampling', () => {
    const gc = { do_sample: false, temperature: 0.7, top_k: 20, repetition_penalty: 1.1, eos_token_id: [2, 9] };
    const fromFile = resolveGenerateOptions({ config, generationConfig: gc }, { maxNewTokens: 5 });
    expect(fromFile).toMatchObject({ doSample: false, temperature: 0.7, topK: 20, repetitionPenalty: 1.1, stopTokenIds: [2, 9], maxNewTokens: 5 });
    const sampled = resolveGenerateOptions({ config, generationConfig: gc }, { temperature: 0.8, topK: 3 });
    expect(sampled).toMatchObject({ doSample: true, temperature: 0.8, topK: 3, repetitionPenalty: 1.1 });
    const greedy = resolveGenerateOptions({ config, generationConfig: { do_sample: true } }, { temperature: 0 });
    expect(greedy.doSample).toBe(false);
    expect(resolveGenerateOptions({ config }, {}).stopTokenIds).toEqual([2]);
  });

  it('names generation_config.json and the field when a value is wrong', () => {
    expect(() => samplingDefaults({ top_p: 1.5 })).toThrow('generation_config.json: field "top_p" must be in (0, 1], got 1.5');
    expect(() => samplingDefaults({ do_sample: 'yes' })).toThrow(/generation_config\.json: field "do_sample"/);
  });
});
