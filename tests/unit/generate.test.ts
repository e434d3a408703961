import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { generate, type GenerationHooks, type GenerationResult } from '../../src/engine/model/generate';
import { NonFiniteLogitsError } from '../../src/engine/model/sampling';
import { StopStringStream } from '../../src/engine/model/stop-strings';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { Rng } from '../../src/engine/util/rng';
import { bigram, FakeLm, fakeConfig, RecomputingLm, scripted } from '../helpers/fake-lm';
import { STORIES_BOS, STORIES_EOS, storiesTokenizer } from '../helpers/stories-tokenizer';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';

const V = 512; // stories260K's vocabulary, so its tokenizer can name the fake model's tokens
const tok = storiesTokenizer();
const ids = (text: string) => tok.encode(text); // with BOS

/** generate() with a recording onToken: per prompt, the deltas and the token ids streamed. */
async function run(model: FakeLm | CpuCausalLm | RecomputingLm, prompts: number[][], options: Parameters<typeof generate>[2], hooks: GenerationHooks = {}) {
  const deltas: string[][] = prompts.map(() => []);
  const streamed: number[][] = prompts.map(() => []);
  const results = await generate(model, prompts, options, {
    tokenizer: tok,
    ...hooks,
    onToken(index, token, delta) {
      deltas[index].push(delta);
      streamed[index].push(token);
      hooks.onToken?.(index, token, delta);
    },
  });
  return { results, deltas, streamed };
}

function expectStreamMatches(result: GenerationResult, deltas: string[], streamed: number[]): void {
  expect(deltas.join('')).toBe(result.text);
  expect(streamed).toEqual(result.tokens);
}

describe('generate() loop on a scripted fake model', () => {
  const story = ids('Once upon a time');

  it('stops at EOS: the EOS id ends the tokens, the text leaves it out', async () => {
    const model = new FakeLm(fakeConfig(V), scripted(V, [story], STORIES_EOS));
    const { results, deltas, streamed } = await run(model, [[STORIES_BOS]], { maxNewTokens: 20 });
    expect(results[0]).toEqual({ tokens: [...story.slice(1), STORIES_EOS], text: 'Once upon a time', finishReason: 'eos' });
    expectStreamMatches(results[0], deltas[0], streamed[0]);
    expect(model.liveSequences).toBe(0);
  });

  it('uses the tokenizer EOS ids by default and stopTokenIds when given', async () => {
    const model = new FakeLm(fakeConfig(V), scripted(V, [story], STORIES_EOS));
    const { results } = await run(model, [[STORIES_BOS]], { maxNewTokens: 20, stopTokenIds: [story[3]] });
    expect(results[0].tokens).toEqual(story.slice(1, 4));
    expect(results[0].finishReason).toBe('eos');
  });

  it('stops at max new tokens, with a cache of prompt + maxNewTokens - 1 positions', async () => {
    const model = new FakeLm(fakeConfig(V), scripted(V, [story], STORIES_EOS));
    const { results, deltas, streamed } = await run(model, [[STORIES_BOS]], { maxNewTokens: 3 });
    expect(results[0].tokens).toEqual(story.slice(1, 4));
    expect(results[0].finishReason).toBe('length');
    expect(results[0].text).toBe('Once upon a');
    expectStreamMatches(results[0], deltas[0], streamed[0]);
    expect(model.sequences[0].capacity).toBe(3);
  });

  it('cuts the text before a stop string spanning two tokens and never streams any of it', async () => {
    const script = ids('Once upon a time there was a cat');
    const stop = 'me th';
    for (const t of script) expect(tok.decode([t])).not.toContain(stop); // it really spans two tokens
    const model = new FakeLm(fakeConfig(V), scripted(V, [script], STORIES_EOS));
    const { results, deltas, streamed } = await run(model, [[STORIES_BOS]], { maxNewTokens: 20, stopStrings: ['zebra', stop] });
    expect(results[0].finishReason).toBe('stop-string');
    expect(results[0].text).toBe('Once upon a ti');
    expect(tok.decode(results[0].tokens)).toBe('Once upon a time there'); // the token that completed it is kept
    expectStreamMatches(results[0], deltas[0], streamed[0]);
  });

  it('releases held-back text when the stop string never completes', async () => {
    const script = ids('Once upon a time there was a cat');
    const model = new FakeLm(fakeConfig(V), scripted(V, [script], STORIES_EOS));
    const { results, deltas } = await run(model, [[STORIES_BOS]], { maxNewTokens: 20, stopStrings: ['me to', 'a dog'] });
    expect(results[0].finishReason).toBe('eos');
    expect(results[0].text).toBe('Once upon a time there was a cat');
    expect(deltas[0].join('')).toBe(results[0].text);
  });

  it('runs several prompts in one extend per step; finished sequences drop out', async () => {
    const a = ids('Once upon a time'); // 4 new tokens, then EOS
    const b = ids('The cat sat on the mat and the dog'); // longer than maxNewTokens
    const c = ids('Lily went to the park'); // EOS after 3 new tokens
    const prompts = [[STORIES_BOS], b.slice(0, 3), c.slice(0, -3)];
    const model = new FakeLm(fakeConfig(V), scripted(V, [a, b, c], STORIES_EOS));
    const { results, deltas, streamed } = await run(model, prompts, { maxNewTokens: 6 });

    expect(results.map((r) => r.finishReason)).toEqual(['eos', 'length', 'eos']);
    expect(results[0].tokens).toEqual([...a.slice(1), STORIES_EOS]);
    expect(results[1].tokens).toEqual(b.slice(3, 9));
    expect(results[2].tokens).toEqual([...c.slice(-3), STORIES_EOS]);
    results.forEach((r, i) => expectStreamMatches(r, deltas[i], streamed[i]));
    // The text continues the prompt's exactly (spaces included).
    const skip = { skipSpecialTokens: true };
    expect(tok.decode(prompts[1], skip) + results[1].text).toBe(tok.decode(b.slice(0, 9), skip));

    // Prefill: one call with every whole prompt; then one call per step with one token per live sequence.
    expect(model.calls[0].requests.map((r) => r.tokens)).toEqual(prompts);
    const live = model.calls.slice(1).map((c) => c.requests.length);
    const finishedAt = results.map((r) => r.tokens.length); // steps each sequence ran
    expect(live).toEqual(Array.from({ length: Math.max(...finishedAt) - 1 }, (_, s) => finishedAt.filter((n) => n > s + 1).length));
    for (const call of model.calls.slice(1)) for (const r of call.requests) expect(r.tokens).toHaveLength(1);
    expect(model.calls.every((c) => c.wanted === 'last')).toBe(true);
    expect(model.liveSequences).toBe(0);
  });

  it('aborts every sequence after the step in flight and returns what was streamed', async () => {
    const long = ids('Once upon a time there was a little girl named Lily');
    const model = new FakeLm(fakeConfig(V), scripted(V, [long], STORIES_EOS));
    const controller = new AbortController();
    const { results, deltas } = await run(model, [[STORIES_BOS], [STORIES_BOS]], { maxNewTokens: 30 }, {
      signal: controller.signal,
      onToken(index, _token, _delta) {
        if (index === 0 && model.calls.length === 3) controller.abort();
      },
    });
    expect(results.map((r) => r.finishReason)).toEqual(['aborted', 'aborted']);
    expect(results.map((r) => r.tokens.length)).toEqual([3, 3]);
    expect(results[0].text).toBe(deltas[0].join(''));
    expect(results[0].text).toBe('Once upon a');
    expect(model.calls).toHaveLength(3);
    expect(model.liveSequences).toBe(0);

    const before = new FakeLm(fakeConfig(V), scripted(V, [long], STORIES_EOS));
    const done = new AbortController();
    done.abort();
    const r = await generate(before, [[STORIES_BOS]], { maxNewTokens: 5 }, { signal: done.signal });
    expect(r[0]).toMatchObject({ tokens: [], finishReason: 'aborted' });
    expect(before.calls).toHaveLength(0);
    expect(before.liveSequences).toBe(0);
  });

  it('releases every sequence when the model fails mid-generation', async () => {
    const model = new FakeLm(fakeConfig(V), scripted(V, [story], STORIES_EOS));
    model.failAtCall = 2;
    await expect(generate(model, [[STORIES_BOS], [STORIES_BOS]], { maxNewTokens: 10 })).rejects.toThrow('device lost');
    expect(model.sequences).toHaveLength(2);
    expect(model.liveSequences).toBe(0);
  });

  it('greedy decoding on NaN logits raises an error naming the prompt, the step and the position, and releases every sequence', async () => {
    // A model whose forward pass breaks down once a sequence reaches 5 tokens: every logit NaN (as an
    // overflow gives), where argmax used to answer token 0 silently.
    const script = scripted(V, [story], STORIES_EOS);
    const model = new FakeLm(fakeConfig(V), (history) => (history.length >= 5 ? new Float32Array(V).fill(NaN) : script(history)));
    await expect(generate(model, [story.slice(0, 2), story.slice(0, 3)], { maxNewTokens: 10 })).rejects.toThrow(
      new NonFiniteLogitsError(0, NaN, 'prompt 1, new token 3 (position 5)'),
    );
    expect(model.liveSequences).toBe(0);
    expect(new NonFiniteLogitsError(0, NaN, 'prompt 1, new token 3 (position 5)').message).toBe(
      "prompt 1, new token 3 (position 5): the logits hold NaN for token id 0, so no next token can be chosen: the model's forward pass produced a number that is not finite (an overflow, or damaged weights)",
    );
    // One NaN among finite logits, and sampling (not only greedy), are refused the same way.
    const one = new FakeLm(fakeConfig(V), (history) => {
      const logits = script(history);
      if (history.length >= 3) logits[7] = NaN;
      return logits;
    });
    await expect(generate(one, [story.slice(0, 2)], { maxNewTokens: 4 })).rejects.toThrow('prompt 0, new token 2 (position 3): the logits hold NaN for token id 7');
    await expect(generate(one, [story.slice(0, 2)], { maxNewTokens: 4, temperature: 0.7, seed: 1 })).rejects.toThrow('prompt 0, new token 2 (position 3): the logits hold NaN for token id 7');
  });

  it('stops at the context limit and refuses a prompt longer than it', async () => {
    const long = ids('Once upon a time there was a little girl named Lily');
    const model = new FakeLm(fakeConfig(V, 8), scripted(V, [long], STORIES_EOS));
    const { results } = await run(model, [long.slice(0, 6)], { maxNewTokens: 10 });
    // 8 positions: the prompt's 6, then 2 fed-back tokens; the third new token is never fed.
    expect(results[0].tokens).toEqual(long.slice(6, 9));
    expect(results[0].finishReason).toBe('length');
    expect(model.sequences[0].capacity).toBe(8);
    await expect(generate(model, [long.slice(0, 9)], { maxNewTokens: 1 })).rejects.toThrow(
      'prompt 0 has 9 tokens but the model\'s context holds 8 (max_position_embeddings in config.json)',
    );
  });

  it('rejects an empty prompt and ids outside the vocabulary', async () => {
    const model = new FakeLm(fakeConfig(V), scripted(V, [], STORIES_EOS));
    await expect(generate(model, [[STORIES_BOS], []], { maxNewTokens: 1 })).rejects.toThrow(/prompt 1 has no tokens: start from \[BOS\]/);
    await expect(generate(model, [[V]], { maxNewTokens: 1 })).rejects.toThrow(/token id 512, outside the vocabulary/);
    expect(model.sequences).toHaveLength(0);
  });

  it('generates from ids without a tokenizer (no text) and names tokenizer.json for stop strings', async () => {
    const model = new FakeLm(fakeConfig(V), scripted(V, [story], STORIES_EOS));
    const results = await generate(model, [[STORIES_BOS]], { maxNewTokens: 10 });
    expect(results[0]).toEqual({ tokens: [...story.slice(1), STORIES_EOS], text: undefined, finishReason: 'eos' });
    await expect(generate(model, [[STORIES_BOS]], { maxNewTokens: 10, stopStrings: ['x'] })).rejects.toThrow(/^tokenizer\.json: /);
  });

  it('returns at once for maxNewTokens 0', async () => {
    const model = new FakeLm(fakeConfig(V), scripted(V, [story], STORIES_EOS));
    const results = await generate(model, [[STORIES_BOS]], { maxNewTokens: 0 }, { tokenizer: tok });
    expect(results[0]).toEqual({ tokens: [], text: '', finishReason: 'length' });
    expect(model.calls).toHaveLength(0);
  });

  it('passes prompt and output to the repetition penalty', async () => {
    const next = () => {
      const l = new Float32Array(V);
      l[5] = 3;
      l[6] = 2;
      return l;
    };
    const plain = await generate(new FakeLm(fakeConfig(V), next), [[STORIES_BOS]], { maxNewTokens: 3, stopTokenIds: [] });
    expect(plain[0].tokens).toEqual([5, 5, 5]);
    // 3 / 2 = 1.5 < 2 once 5 was seen; with both seen 1.5 > 1.
    const penalised = await generate(new FakeLm(fakeConfig(V), next), [[STORIES_BOS]], { maxNewTokens: 3, stopTokenIds: [], repetitionPenalty: 2 });
    expect(penalised[0].tokens).toEqual([5, 6, 5]);
    const fromPrompt = await generate(new FakeLm(fakeConfig(V), next), [[STORIES_BOS, 5]], { maxNewTokens: 1, repetitionPenalty: 2 });
    expect(fromPrompt[0].tokens).toEqual([6]);
  });

  it('samples each prompt with its own seeded RNG: the same tokens alone or in a batch', async () => {
    const table = new Rng(9).normals(V * V, 2);
    const model = () => new FakeLm(fakeConfig(V), bigram(V, table));
    const options = { maxNewTokens: 12, temperature: 0.8, topK: 40, topP: 0.95, seed: 5, stopTokenIds: [] };
    const prompts = [ids('Once upon'), ids('The cat')];
    const batch = await generate(model(), prompts, options);
    const first = await generate(model(), [prompts[0]], options);
    const second = await generate(model(), [prompts[1]], { ...options, seed: 6 });
    expect(batch[0].tokens).toEqual(first[0].tokens);
    expect(batch[1].tokens).toEqual(second[0].tokens);
    const otherSeed = await generate(model(), [prompts[0]], { ...options, seed: 77 });
    expect(otherSeed[0].tokens).not.toEqual(first[0].tokens);
    const greedy = await generate(model(), [prompts[0]], { ...options, temperature: 0 });
    expect(greedy[0].tokens).not.toEqual(first[0].tokens);
  });
});

describe('StopStringStream', () => {
  it('holds back a possible start of a stop string and finds one split across pushes', () => {
    const s = new StopStringStream(['END', 'xyz']);
    expect(s.push('abc E')).toEqual({ delta: 'abc ', stopped: false });
    expect(s.push('N')).toEqual({ delta: '', stopped: false });
    expect(s.push('Dgame')).toEqual({ delta: '', stopped: true });
    expect(s.emitted).toBe('abc ');
    expect(s.flush()).toBe('');
  });

  it('releases held text that turns out not to be a stop string', () => {
    const s = new StopStringStream(['END']);
    expect(s.push('EN')).toEqual({ delta: '', stopped: false });
    expect(s.push('ough')).toEqual({ delta: 'ENough', stopped: false });
    expect(s.push(' E')).toEqual({ delta: ' ', stopped: false });
    expect(s.flush()).toBe('E');
    expect(s.emitted).toBe('ENough E');
  });
});

describe('generate() with the CPU reference on stories260K', () => {
  let model: CpuCausalLm;
  let tokenizer: ModelTokenizer;
  // The file ends with the newline llama2.c prints after the text.
  const expected = readFileSync(join(STORIES260K_DIR, 'expected_greedy_from_bos_40_tokens.txt'), 'utf8').replace(/\n$/, '');

  beforeAll(async () => {
    const loaded = await loadModel(STORIES260K_DIR);
    model = new CpuCausalLm(loaded.config, loaded.weights);
    tokenizer = new ModelTokenizer(loaded.files);
  });

  it('greedy from BOS for 40 tokens gives expected_greedy_from_bos_40_tokens.txt, streamed and whole', async () => {
    const deltas: string[] = [];
    const [result] = await generate(model, [[STORIES_BOS]], { maxNewTokens: 40, temperature: 0 }, {
      tokenizer,
      onToken: (_i, _t, d) => deltas.push(d),
    });
    expect(result.tokens).toHaveLength(40);
    expect(result.finishReason).toBe('length');
    expect(result.text).toBe(expected);
    expect(tokenizer.decode(result.tokens, { skipSpecialTokens: true })).toBe(expected);
    expect(deltas.join('')).toBe(expected);
  });

  it('decoding with the KV cache gives the same tokens as recomputing the whole sequence at every step', async () => {
    const prompts = [[STORIES_BOS], tokenizer.encode('Once upon a time there was a')];
    const recompute = new RecomputingLm(model);
    const settings = [
      { maxNewTokens: 28, temperature: 0, stopTokenIds: [] },
      { maxNewTokens: 28, temperature: 0.8, topP: 0.95, seed: 1234, stopTokenIds: [] },
    ];
    const outputs: number[][][] = [];
    for (const options of settings) {
      const cached = await generate(model, prompts, options);
      const recomputed = await generate(recompute, prompts, options);
      expect(cached.map((r) => r.tokens.length)).toEqual([28, 28]);
      expect(cached.map((r) => r.tokens)).toEqual(recomputed.map((r) => r.tokens));
      outputs.push(cached.map((r) => r.tokens));
    }
    expect(outputs[1]).not.toEqual(outputs[0]); // the sampled run really sampled
  });
});
