// The evaluation runner on scripted models whose every log-probability is known: multiple choice (acc and
// acc_norm from the log-likelihoods, per-item errors kept, cancel between batches), generation suites
// (GSM8K extraction, task metrics, a sandboxed custom metric that throws on one item, seeded sampling that
// does not depend on the batch size) and the references' perplexity.

import { afterAll, describe, expect, it } from 'vitest';
import { encodeContinuation } from '../../src/engine/eval/encode-pair';
import { runSuite } from '../../src/engine/eval/run-suite';
import type { EvalModel } from '../../src/engine/eval/run-types';
import type { Gsm8kSuiteSpec, MultipleChoiceItem, MultipleChoiceSuiteSpec, TaskItem, TaskSuiteSpec } from '../../src/engine/eval/suite-types';
import { createNodeSandbox } from '../../src/node/sandbox/node-sandbox';
import { fakeConfig, scripted } from '../helpers/fake-lm';
import { ScoringFakeLm, uniformLogits } from '../helpers/scoring-fake-lm';
import { STORIES_EOS, storiesTokenizer } from '../helpers/stories-tokenizer';

const V = 512; // stories260K's vocabulary, so its tokenizer names the fake model's tokens
const tokenizer = storiesTokenizer();
const LN_V = Math.log(V);
const ctx = { batchSize: 4, seed: 7 };

const uniform = (): EvalModel => ({ lm: new ScoringFakeLm(fakeConfig(V, 512), uniformLogits(V)), tokenizer });

const mcSpec: MultipleChoiceSuiteSpec = {
  id: 'mc',
  name: 'hand items',
  createdAt: 0,
  origin: { type: 'file', fileName: 'mc.jsonl' },
  kind: 'multiple-choice',
  options: { fewShot: { shots: 0, seed: 1 }, metrics: ['acc', 'acc_norm'] },
};

const purrs = 'Question: What purrs?\nAnswer:';
const sky = 'Q: sky?\nA:';
// Token counts after the context (stories260K's tokenizer): " cat" 2 tokens / 3 characters, " the big dog"
// 4 / 11, " blue" 4 / 4, " red" 2 / 3. Under uniform logits a choice's log-likelihood is -tokens ln V, so
// acc prefers the fewest tokens and acc_norm the fewest tokens per character.
const MC_ITEMS: MultipleChoiceItem[] = [
  { id: 'a', context: purrs, choices: [' cat', ' the big dog'], gold: 1, targetDelimiter: ' ' }, // acc 0, acc_norm 1
  { id: 'b', context: purrs, choices: [' cat', ' the big dog'], gold: 0, targetDelimiter: ' ' }, // acc 1, acc_norm 0
  { id: 'c', context: sky, choices: [' blue', ' red'], gold: 1, targetDelimiter: ' ' }, // acc 1, acc_norm 1
];

describe('multiple choice', () => {
  it('acc and acc_norm from known log-likelihoods, with the harness stderr', async () => {
    const model = uniform();
    const r = await runSuite(mcSpec, MC_ITEMS, model, ctx);
    expect(r.cancelled).toBe(false);
    expect(r.total).toBe(3);
    const details = r.items.map((o) => o.detail!);
    expect(details[0].logLikelihoods as number[]).toEqual([expect.closeTo(-2 * LN_V, 9), expect.closeTo(-4 * LN_V, 9)]);
    expect(details[2].logLikelihoods as number[]).toEqual([expect.closeTo(-4 * LN_V, 9), expect.closeTo(-2 * LN_V, 9)]);
    expect(details.map((d) => [d.pred, d.predNorm])).toEqual([[0, 1], [0, 1], [1, 1]]);
    expect(r.items.map((o) => o.scores)).toEqual([
      { 'acc,none': 0, 'acc_norm,none': 1 },
      { 'acc,none': 1, 'acc_norm,none': 0 },
      { 'acc,none': 1, 'acc_norm,none': 1 },
    ]);
    expect(r.items.map((o) => o.output)).toEqual(['cat', 'cat', 'red']);
    // mean 2/3; sample stddev of [0, 1, 1] is sqrt(1/3), over sqrt(3): 1/3.
    expect(r.scores['acc,none'].value).toBeCloseTo(2 / 3, 12);
    expect(r.scores['acc,none'].stderr).toBeCloseTo(1 / 3, 12);
    expect(r.scores['acc_norm,none'].value).toBeCloseTo(2 / 3, 12);
    // One request per item with a shared context: each choice's context ran once in the prefill.
    const lm = model.lm as ScoringFakeLm;
    expect(lm.scoreCalls).toEqual([6]);
  });

  it('keeps only the metrics the suite lists (BoolQ: acc)', async () => {
    const r = await runSuite({ ...mcSpec, options: { ...mcSpec.options, metrics: ['acc'] } }, MC_ITEMS, uniform(), ctx);
    expect(Object.keys(r.scores)).toEqual(['acc,none']);
    expect(Object.keys(r.items[0].scores)).toEqual(['acc,none']);
  });

  it('keeps a bad item with its error and scores the rest', async () => {
    const bad: MultipleChoiceItem = { id: 'bad', context: sky, choices: [' blue', ' red'], gold: 5, targetDelimiter: ' ' };
    const r = await runSuite(mcSpec, [MC_ITEMS[0], bad, MC_ITEMS[2]], uniform(), ctx);
    expect(r.items.map((o) => o.id)).toEqual(['a', 'bad', 'c']);
    expect(r.items[1].error).toMatch(/gold 5 is not one of its 2 choices/);
    expect(r.items[1].scores).toEqual({});
    expect(r.scores['acc,none'].value).toBeCloseTo(0.5, 12); // items a (0) and c (1)
  });

  it('cancel stops between batches, reports it, and scores the items finished', async () => {
    const controller = new AbortController();
    const items = [...MC_ITEMS, ...MC_ITEMS].map((it, i) => ({ ...it, id: `${it.id}${i}` }));
    const seen: number[] = [];
    const r = await runSuite(mcSpec, items, uniform(), {
      batchSize: 2,
      seed: 1,
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p.done);
        if (p.done >= 2) controller.abort();
      },
    });
    expect(r.cancelled).toBe(true);
    expect(r.total).toBe(6);
    expect(r.items.map((o) => o.id)).toEqual(['a0', 'b1']);
    expect(r.scores['acc,none'].value).toBeCloseTo(0.5, 12);
    expect(seen).toEqual([0, 2]);
  });

  it('applies the limit and reports an ETA once an item is done', async () => {
    const etas: (number | undefined)[] = [];
    const r = await runSuite({ ...mcSpec, options: { ...mcSpec.options, limit: 2 } }, MC_ITEMS, uniform(), {
      batchSize: 1,
      seed: 1,
      onProgress: (p) => etas.push(p.etaSeconds),
    });
    expect(r.total).toBe(2);
    expect(r.items).toHaveLength(2);
    expect(etas[0]).toBeUndefined();
    expect(etas.slice(1).every((e) => typeof e === 'number' && e >= 0)).toBe(true);
  });
});

/** A model that answers prompt i with outputs[i] (tokenized as it follows the prompt) then EOS, greedily. */
function scriptedModel(prompts: readonly string[], outputs: readonly string[]): EvalModel {
  const scripts = prompts.map((p, i) => {
    const pair = encodeContinuation(tokenizer, p, outputs[i]);
    return [...pair.context, ...pair.continuation, STORIES_EOS];
  });
  return { lm: new ScoringFakeLm(fakeConfig(V, 512), scripted(V, scripts, STORIES_EOS)), tokenizer };
}

const gsmSpec: Gsm8kSuiteSpec = {
  id: 'gsm',
  name: 'gsm',
  createdAt: 0,
  origin: { type: 'builtin', builtin: 'gsm8k' },
  kind: 'gsm8k',
  options: {
    fewShot: { shots: 0, seed: 1 },
    generation: { maxNewTokens: 40, stop: ['Question:'] },
    exactMatch: { ignoreCase: true, ignorePunctuation: false, regexesToIgnore: [',', '\\$', '(?s).*#### ', '\\.$'] },
  },
};

describe('generation suites', () => {
  it('GSM8K: strict and flexible extraction on the generations, cut at the stop sequence', async () => {
    const contexts = ['Question: 2+2?\nAnswer:', 'Question: 3+4?\nAnswer:'];
    const model = scriptedModel(contexts, [' 2 and 2 make 4.\n#### 4\n\nQuestion: what', ' I think it is 7.']);
    const items = contexts.map((context, i) => ({ id: `q${i}`, context, question: '', answer: i === 0 ? 'so #### 4' : 'it is #### 7' }));
    const r = await runSuite(gsmSpec, items, model, ctx);
    expect(r.items[0].output).toBe(' 2 and 2 make 4.\n#### 4\n\n');
    expect(r.items[0].scores).toEqual({ 'exact_match,strict-match': 1, 'exact_match,flexible-extract': 1 });
    expect(r.items[1].scores).toEqual({ 'exact_match,strict-match': 0, 'exact_match,flexible-extract': 1 });
    expect(r.items[1].detail).toMatchObject({ strict: '[invalid]', flexible: '7.' });
    expect(r.scores['exact_match,strict-match']).toEqual({ value: 0.5, stderr: 0.5 });
  });

  const taskSpec = (over: Partial<TaskSuiteSpec['options']> = {}): TaskSuiteSpec => ({
    id: 'task',
    name: 'task',
    createdAt: 0,
    origin: { type: 'file', fileName: 'task.jsonl' },
    kind: 'task',
    options: {
      generation: { maxNewTokens: 20, stop: [] },
      metrics: { exactMatch: true, contains: true, rougeL: true, regex: { pattern: '\\d+', flags: '' } },
      perplexity: false,
      ...over,
    },
  });
  const taskItems: TaskItem[] = [
    { id: 't1', prompt: 'What is six times seven?', reference: 'The answer is 42' },
    { id: 't2', prompt: 'Capital of France?', reference: 'Paris' },
  ];

  it('task metrics per item and their means', async () => {
    const model = scriptedModel(taskItems.map((t) => t.prompt as string), [' the answer is 42.', ' it is a city called Rome']);
    const r = await runSuite(taskSpec(), taskItems, model, ctx);
    expect(r.items[0].scores).toEqual({ 'exact_match,none': 1, 'contains,none': 1, 'rougeL,none': 1, 'regex_match,none': 1 });
    expect(r.items[1].scores).toEqual({ 'exact_match,none': 0, 'contains,none': 0, 'rougeL,none': 0, 'regex_match,none': 0 });
    expect(r.scores['exact_match,none']).toEqual({ value: 0.5, stderr: 0.5 });
  });

  it('reference loss and perplexity: uniform logits give exactly ln V and V, with zero spread', async () => {
    const r = await runSuite(taskSpec({ perplexity: true }), taskItems, uniform(), ctx);
    expect(r.scores['loss,none'].value).toBeCloseTo(LN_V, 10);
    expect(r.scores['perplexity,none'].value).toBeCloseTo(V, 6);
    expect(r.scores['perplexity,none'].stderr).toBeCloseTo(0, 9);
    const tokens = r.items.map((o) => o.detail!.tokens as number);
    expect(tokens.every((t) => t > 0)).toBe(true);
    expect(r.items[0].detail!.nll).toBeCloseTo(tokens[0] * LN_V, 9);
  });

  describe('custom metric in the Node sandbox', () => {
    const sandbox = createNodeSandbox();
    afterAll(() => sandbox.dispose());

    it('an item whose metric throws keeps the error; the others are scored', async () => {
      const model = scriptedModel(taskItems.map((t) => t.prompt as string), [' the answer is 42.', ' Rome']);
      const source = "(output, item) => { if (item.reference === 'Paris') throw new Error('boom on ' + item.reference); return output.length; }";
      const spec = taskSpec({ metrics: { exactMatch: true, contains: false, rougeL: false, customMetric: { name: 'chars', source, timeoutMs: 2000 } } });
      const r = await runSuite(spec, taskItems, model, { ...ctx, sandbox });
      expect(r.items[0].scores['chars,none']).toBe(' the answer is 42.'.length);
      expect(r.items[1].scores['chars,none']).toBeUndefined();
      expect(r.items[1].error).toMatch(/chars: .*boom on Paris/);
      expect(r.scores['chars,none']).toEqual({ value: ' the answer is 42.'.length });
      expect(r.scores['exact_match,none'].value).toBe(0.5);
    });
  });

  it('seeded samples do not depend on the batch size; samples of one item differ', async () => {
    const spec = taskSpec({ generation: { maxNewTokens: 6, stop: [], sampling: { temperature: 1, seed: 11, samplesPerItem: 3 } } });
    const items: TaskItem[] = ['one', 'two', 'three'].map((p, i) => ({ id: `s${i}`, prompt: p, reference: p }));
    const a = await runSuite(spec, items, uniform(), { batchSize: 1, seed: 0 });
    const b = await runSuite(spec, items, uniform(), { batchSize: 9, seed: 0 });
    expect(a.items.map((o) => o.outputs)).toEqual(b.items.map((o) => o.outputs));
    expect(a.items[0].outputs).toHaveLength(3);
    expect(new Set(a.items[0].outputs).size).toBeGreaterThan(1);
    expect(a.items[0].output).toBe(a.items[0].outputs![0]);
  });
});
