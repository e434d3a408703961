// Log-likelihood scoring on the float64 CPU reference (tiny random Llama-GQA): the scores equal a brute force
// over the whole sequence's logits (the harness's formula), with and without the shared context; the
// harness's left truncation and rolling windows; batching, progress, cancellation and sequence reuse.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreContinuations, SequencePool, type ContinuationRequest } from '../../src/engine/eval/loglikelihood';
import { rollingWindows, scoreTexts } from '../../src/engine/eval/loglikelihood-rolling';
import type { SequenceState } from '../../src/engine/model/causal-lm';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel } from '../helpers/tiny-models';

let dir: string;
let model: CpuCausalLm;

beforeAll(async () => {
  dir = await makeTempDir();
  await writeTinyModel(dir, 'llama', { sizes: { maxPositions: 32 } });
  const { config, weights } = await loadModel(dir);
  model = new CpuCausalLm(config, weights);
});
afterAll(() => removeTempDir(dir));

/**
 * The harness's formula directly: logits of (context + continuation)[-(max + 1):][:-1] in one extend
 * ('all'), log-softmax in float64 of the last len(continuation) rows at the continuation's tokens.
 */
async function bruteForce(context: number[], continuation: number[], maxLength = model.config.maxPositions) {
  const input = [...context, ...continuation].slice(-(maxLength + 1)).slice(0, -1);
  const s = model.createSequence(input.length);
  const [logits] = await model.extend([{ sequence: s, tokens: input }], 'all');
  model.releaseSequence(s);
  const V = model.config.vocabSize;
  let sum = 0;
  let greedy = true;
  continuation.forEach((token, k) => {
    const row = logits.subarray((input.length - continuation.length + k) * V, (input.length - continuation.length + k + 1) * V);
    const max = row.reduce((m, x) => Math.max(m, x), -Infinity);
    const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
    sum += row[token] - lse;
    if (row[token] < max) greedy = false;
  });
  return { logLikelihood: sum, tokens: continuation.length, greedy };
}

const ITEMS: ContinuationRequest[] = [
  { context: [1, 17, 300, 42, 5], continuations: [[9], [200, 31], [7, 7, 7, 480]] },
  { context: [1], continuations: [[44, 2], [3]] },
  { context: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], continuations: [[12, 13], [99, 100, 101], [500]] },
];

/** Records the sequences `lm` creates and releases until restore() puts its methods back. */
function spySequences(lm: CpuCausalLm): { created: SequenceState[]; released: Set<SequenceState>; restore(): void } {
  const created: SequenceState[] = [];
  const released = new Set<SequenceState>();
  const create = lm.createSequence.bind(lm);
  const release = lm.releaseSequence.bind(lm);
  lm.createSequence = (capacity) => {
    const s = create(capacity);
    created.push(s);
    return s;
  };
  lm.releaseSequence = (s) => {
    released.add(s);
    release(s);
  };
  return {
    created,
    released,
    restore: () => {
      lm.createSequence = create;
      lm.releaseSequence = release;
    },
  };
}

describe('scoreContinuations on the CPU reference', () => {
  it('equals the harness formula over whole-sequence logits, shared context or not', async () => {
    const shared = await scoreContinuations(model, ITEMS, { shareContext: true });
    const fromScratch = await scoreContinuations(model, ITEMS, { shareContext: false, batchItems: 1 });
    for (const [i, item] of ITEMS.entries()) {
      for (const [j, c] of item.continuations.entries()) {
        const want = await bruteForce([...item.context], [...c]);
        // The brute force reads f32 logits; the scorer's float64 log-softmax differs by their rounding only.
        expect(Math.abs(shared[i][j].logLikelihood - want.logLikelihood)).toBeLessThan(1e-5 * Math.abs(want.logLikelihood) + 1e-6);
        expect(shared[i][j].tokens).toBe(c.length);
        expect(shared[i][j].greedy).toBe(want.greedy);
        // Float64 throughout: sharing the context changes nothing but the summation grouping.
        expect(Math.abs(fromScratch[i][j].logLikelihood - shared[i][j].logLikelihood)).toBeLessThan(1e-12 * Math.abs(shared[i][j].logLikelihood));
        expect(fromScratch[i][j].greedy).toBe(shared[i][j].greedy);
      }
    }
    expect(shared[0][0].logLikelihood).toBeLessThan(0);
  });

  it('marks greedy continuations: the model\'s own argmax tokens are greedy, another token is not', async () => {
    const context = [1, 17, 300];
    const s = model.createSequence(8);
    const greedyTokens: number[] = [];
    let next = context;
    for (let k = 0; k < 3; k++) {
      const [logits] = await model.extend([{ sequence: s, tokens: next }], 'last');
      const best = logits.indexOf(Math.max(...logits));
      greedyTokens.push(best);
      next = [best];
    }
    const other = [...greedyTokens.slice(0, 2), (greedyTokens[2] + 1) % model.config.vocabSize];
    const [[a, b]] = await scoreContinuations(model, [{ context, continuations: [greedyTokens, other] }], { shareContext: true });
    expect(a.greedy).toBe(true);
    expect(b.greedy).toBe(false);
    expect(a.logLikelihood).toBeGreaterThan(b.logLikelihood);
  });

  it('left-truncates as the harness does when context + continuation exceed maxLength, sharing or not', async () => {
    const context = Array.from({ length: 20 }, (_, i) => (i * 37 + 5) % 512);
    const item = { context, continuations: [[3, 4, 5, 6], [8]] };
    for (const shareContext of [true, false]) {
      const [[long, short]] = await scoreContinuations(model, [item], { shareContext, maxLength: 16 });
      const wantLong = await bruteForce(context, [3, 4, 5, 6], 16);
      const wantShort = await bruteForce(context, [8], 16);
      expect(long.logLikelihood).toBeCloseTo(wantLong.logLikelihood, 5);
      expect(short.logLikelihood).toBeCloseTo(wantShort.logLikelihood, 5);
    }
    // Without truncation the long choice reads 23 tokens: a different number.
    const untruncated = await bruteForce(context, [3, 4, 5, 6]);
    const [[long]] = await scoreContinuations(model, [item], { shareContext: true, maxLength: 16 });
    expect(Math.abs(long.logLikelihood - untruncated.logLikelihood)).toBeGreaterThan(1e-3);
  });

  it('batches by positions and items, reports progress per batch, reuses sequences and releases them all', async () => {
    const { created, released, restore } = spySequences(model);
    const progress: [number, number][] = [];
    const items = [...ITEMS, ...ITEMS];
    let scores;
    try {
      scores = await scoreContinuations(model, items, { shareContext: true, batchItems: 2, onProgress: (d, t) => progress.push([d, t]) });
    } finally {
      restore();
    }
    expect(progress).toEqual([[2, 6], [4, 6], [6, 6]]);
    expect(scores[3]).toEqual(scores[0]);
    // One capacity class (32 positions, the model's maximum): the largest batch's 3 + 3 choices, reused by
    // the other batches (16 without reuse), each released once.
    expect(created.length).toBe(6);
    expect(released.size).toBe(created.length);
  });

  it('reuses a caller-owned pool across calls and leaves releasing it to the caller', async () => {
    const { created, released, restore } = spySequences(model);
    const sequences = new SequencePool(model);
    let first;
    let second;
    try {
      first = await scoreContinuations(model, ITEMS, { shareContext: true, batchItems: 2, sequences });
      second = await scoreContinuations(model, ITEMS, { shareContext: true, batchItems: 2, sequences });
      // Batches of 3 + 2 and 3 choices: the second call ran on the first call's 5 sequences, none released yet.
      expect(created.length).toBe(5);
      expect(released.size).toBe(0);
      sequences.releaseAll();
    } finally {
      restore();
    }
    expect(second).toEqual(first);
    expect(released.size).toBe(5);
    const other: CpuCausalLm = Object.create(model);
    await expect(scoreContinuations(other, ITEMS, { shareContext: true, sequences })).rejects.toThrow(/another model/);
  });

  it('stops before the next batch when the signal aborts, and refuses empty or oversized input', async () => {
    const controller = new AbortController();
    let batches = 0;
    const run = scoreContinuations(model, ITEMS, {
      shareContext: true,
      batchItems: 1,
      signal: controller.signal,
      onProgress: () => {
        batches++;
        controller.abort(new Error('cancelled by the test'));
      },
    });
    await expect(run).rejects.toThrow('cancelled by the test');
    expect(batches).toBe(1);
    await expect(scoreContinuations(model, [{ context: [], continuations: [[1]] }], { shareContext: true })).rejects.toThrow(/item 0 has an empty context/);
    await expect(scoreContinuations(model, [{ context: [1], continuations: [[1], []] }], { shareContext: true })).rejects.toThrow(/item 0 choice 1 has no tokens/);
    await expect(scoreContinuations(model, [{ context: [1], continuations: [[1, 2, 3]] }], { shareContext: true, maxLength: 2 })).rejects.toThrow(/3 tokens, more than the 2/);
    await expect(scoreContinuations(model, [{ context: [1], continuations: [[1, 600]] }], { shareContext: true })).rejects.toThrow(/outside the vocabulary/);
  });
});

describe('rolling windows and scoreTexts', () => {
  it('cuts a long text into the harness\'s disjoint windows', () => {
    expect(rollingWindows(0, [1, 2, 3, 4, 5, 6, 7], 3)).toEqual([
      { context: [0], continuations: [[1, 2, 3]] },
      { context: [3], continuations: [[4, 5, 6]] },
      { context: [4, 5, 6], continuations: [[7]] },
    ]);
    expect(rollingWindows(0, [1, 2], 3)).toEqual([{ context: [0], continuations: [[1, 2]] }]);
    expect(rollingWindows(0, [], 3)).toEqual([]);
  });

  it('sums log p(t_k | t_<k) for k >= 1, in one window when the text fits and window by window otherwise', async () => {
    const text = [1, 17, 300, 42, 5, 9, 200, 31, 7, 480];
    const progress: number[] = [];
    const [whole, single] = await scoreTexts(model, [text, [1]], { onProgress: (d) => progress.push(d) });
    const want = await bruteForce([text[0]], text.slice(1));
    expect(whole.tokens).toBe(9);
    expect(whole.logLikelihood).toBeCloseTo(want.logLikelihood, 5);
    expect(single).toEqual({ logLikelihood: 0, tokens: 0 });
    expect(progress.at(-1)).toBe(2);

    const [windowed] = await scoreTexts(model, [text], { maxLength: 4, batchItems: 1 });
    let sum = 0;
    for (const w of rollingWindows(text[0], text.slice(1), 4)) sum += (await bruteForce([...w.context], [...w.continuations[0]], 4)).logLikelihood;
    expect(windowed.logLikelihood).toBeCloseTo(sum, 5);
    expect(Math.abs(windowed.logLikelihood - whole.logLikelihood)).toBeGreaterThan(1e-3);
  });
});
