// The worker's run helpers that need no GPU: model references a resume reloads from, the ETA, and a run's
// data per method (split, tokenized with stories260K's tokenizer, the objective with the run's settings,
// sample prompts; a method that does not fit the dataset refused by name).

import { describe, expect, test } from 'vitest';
import type { SftRecord } from '../../src/engine/data/sft-examples';
import type { TokenizedPair } from '../../src/engine/data/tokenize-preference';
import type { TokenizedExample } from '../../src/engine/data/tokenize-sft';
import { PreferenceObjective } from '../../src/engine/train/objectives/preference-objective';
import { sftPromptOf, SftObjective } from '../../src/engine/train/objectives/sft-objective';
import type { DatasetRecord, ModelRef, StoredPreferenceSettings } from '../../src/storage/records';
import { evalIndices } from '../../src/worker/dataset-split';
import type { ModelRequest, LoadedModelInfo } from '../../src/worker/protocol';
import { prepareRunData, SAMPLE_PROMPTS } from '../../src/worker/run-data';
import { EtaClock } from '../../src/worker/run-eta';
import { describeRef, modelName, modelRefOf, requestOf, sameModel } from '../../src/worker/run-model-ref';
import { storiesTokenizer, STORIES_BOS, STORIES_EOS } from '../helpers/stories-tokenizer';

const info = (source: string) => ({ source }) as LoadedModelInfo;

describe('model references', () => {
  test('hub, offline and demo models reload from their reference; picked files do not', () => {
    const hub: ModelRequest = { kind: 'hub', id: 'org/model', revision: 'v2', endpoint: 'http://127.0.0.1:9/' };
    const hubRef = modelRefOf({ request: hub, info: info('org/model') });
    expect(hubRef).toEqual({ kind: 'hub', id: 'org/model', revision: 'v2', endpoint: 'http://127.0.0.1:9/' });
    expect(requestOf(hubRef)).toEqual(hub);
    const offline = modelRefOf({ request: { kind: 'offline', id: 'stories260K' }, info: info('stories260K') });
    expect(requestOf(offline)).toEqual({ kind: 'offline', id: 'stories260K' });
    expect(requestOf(modelRefOf({ request: { kind: 'demo' }, info: info('demo') }))).toEqual({ kind: 'demo' });
    const files = modelRefOf({ request: { kind: 'files', files: [] }, info: info('stories260K (picked folder)') });
    expect(files).toEqual({ kind: 'files', source: 'stories260K (picked folder)' });
    expect(requestOf(files)).toBeNull();
    expect(modelName(files, 'x')).toBe('stories260K (picked folder)');
    expect(modelName(hubRef, 'x')).toBe('org/model');
    expect(describeRef(offline)).toBe('stories260K (offline folder)');
  });

  test('the same model: same repo, revision and endpoint (a trailing slash aside)', () => {
    const a: ModelRef = { kind: 'hub', id: 'org/m', revision: 'main', endpoint: 'https://huggingface.co' };
    expect(sameModel(a, { ...a, endpoint: 'https://huggingface.co/' })).toBe(true);
    expect(sameModel(a, { ...a, revision: 'v1' })).toBe(false);
    expect(sameModel(a, { kind: 'offline', id: 'org/m' })).toBe(false);
    expect(sameModel({ kind: 'offline', id: 'x' }, { kind: 'offline', id: 'x' })).toBe(true);
    expect(sameModel({ kind: 'files', source: 'a' }, { kind: 'files', source: 'b' })).toBe(false);
  });
});

describe('EtaClock', () => {
  test('null before a pace is known, then the mean of the recent steps times the steps left', () => {
    const eta = new EtaClock(3);
    eta.mark(20, 1000); // resumed after step 20
    expect(eta.secondsLeft(40)).toBeNull();
    eta.mark(21, 3000);
    expect(eta.secondsLeft(40)).toBeCloseTo(19 * 2, 9);
    eta.mark(22, 4000);
    eta.mark(23, 5000);
    expect(eta.secondsLeft(40)).toBeCloseTo(17 * (4 / 3), 9);
    // The oldest (slow) step leaves the window of 3.
    eta.mark(24, 6000);
    expect(eta.secondsLeft(40)).toBeCloseTo(16 * 1, 9);
    expect(eta.secondsLeft(24)).toBe(0);
  });
});

describe('run data', () => {
  const tokenizer = storiesTokenizer();
  const examples: SftRecord[] = Array.from({ length: 20 }, (_, i) => ({
    line: i + 1,
    example: { kind: 'prompt-completion', prompt: `Setting: place ${i}.\n`, completion: `Once upon a time there was a cat number ${i}.` },
  }));
  const record = (split: DatasetRecord['split'], list = examples): DatasetRecord => ({
    id: 'd',
    name: 'stories',
    source: 'train.jsonl',
    createdAt: '',
    method: 'sft',
    format: 'prompt-completion',
    examples: list,
    skipped: [],
    split,
  });

  test("splits as the dataset says, tokenizes with the model's tokenizer and keeps sample prompts of held-out examples", () => {
    const split = { evalFraction: 0.25, seed: 3 };
    const data = prepareRunData(record(split), tokenizer, { method: 'sft', maxLength: 64, completionOnly: true });
    expect(data.objective).toBeInstanceOf(SftObjective);
    const held = evalIndices(20, split).map((i) => i + 1);
    expect(held).toHaveLength(5);
    expect((data.eval as TokenizedExample[]).map((e) => e.line)).toEqual(held);
    expect((data.train as TokenizedExample[]).map((e) => e.line)).toEqual(examples.map((e) => e.line).filter((l) => !held.includes(l)));
    const first = data.eval[0] as TokenizedExample;
    expect(first.inputIds[0]).toBe(STORIES_BOS);
    expect(first.inputIds.at(-1)).toBe(STORIES_EOS);
    expect(data.samplePrompts).toHaveLength(SAMPLE_PROMPTS);
    // The sample prompt is the untrained prefix: BOS + the prompt text, which decodes back to it.
    expect(data.samplePrompts[0]).toEqual(sftPromptOf(first));
    expect(tokenizer.decode(data.samplePrompts[0], { skipSpecialTokens: true })).toBe(`Setting: place ${held[0] - 1}.\n`);
    expect(first.trainMask[data.samplePrompts[0].length]).toBe(1);
    expect(first.trainMask[data.samplePrompts[0].length - 1]).toBe(0);
  });

  test('maxLength truncates; a dataset with no trainable example is refused naming a line', () => {
    const data = prepareRunData(record({ evalFraction: 0, seed: 0 }), tokenizer, { method: 'sft', maxLength: 20, completionOnly: true });
    expect(data.eval).toEqual([]);
    expect(data.samplePrompts).toEqual([]);
    expect(Math.max(...(data.train as TokenizedExample[]).map((e) => e.inputIds.length))).toBe(20);
    expect(() => prepareRunData(record({ evalFraction: 0, seed: 0 }), tokenizer, { method: 'sft', maxLength: 3, completionOnly: true })).toThrow(
      /The dataset "stories" has no usable training example for this model \(line 1: has no trained token within the first 3 tokens\)/,
    );
  });
});

describe('run data of the preference methods', () => {
  const tokenizer = storiesTokenizer();
  const prompt = (i: number) => `Setting: a quiet place number ${i}.\n`;
  const pairs = Array.from({ length: 20 }, (_, i) => ({
    line: i + 1,
    example: { kind: 'text' as const, prompt: prompt(i), chosen: `A cat sat in place ${i}.`, rejected: `A dog ran in place ${i + 1}.` },
  }));
  const split = { evalFraction: 0.25, seed: 3 };
  const record: DatasetRecord = { id: 'p', name: 'pairs', source: 'pairs.jsonl', createdAt: '', method: 'dpo', format: 'preference', examples: pairs, skipped: [], identical: 0, split };
  const preference = (edits: Partial<StoredPreferenceSettings> = {}): StoredPreferenceSettings => ({
    beta: 0.1,
    lossType: 'sigmoid',
    labelSmoothing: 0,
    simpoGamma: 0.5,
    orpoLambda: 0.1,
    maxPromptLength: 512,
    precomputeRef: false,
    ...edits,
  });

  test('DPO: the split pairs as prompt and answer ids, the objective with the run settings, samples from the held-out prompts', () => {
    const data = prepareRunData(record, tokenizer, { method: 'dpo', maxLength: 64, completionOnly: true, preference: preference({ beta: 0.25, lossType: 'ipo' }) });
    const objective = data.objective as PreferenceObjective;
    expect(objective).toBeInstanceOf(PreferenceObjective);
    expect(objective.config).toEqual({ method: 'dpo', beta: 0.25, lossType: 'ipo', labelSmoothing: 0, simpoGamma: 0.5, orpoLambda: 0.1 });
    expect(objective.needsReference).toBe(true);
    const held = evalIndices(20, split).map((i) => i + 1);
    const evalPairs = data.eval as TokenizedPair[];
    expect(evalPairs.map((p) => p.line)).toEqual(held);
    expect((data.train as TokenizedPair[]).map((p) => p.line)).toEqual(pairs.map((p) => p.line).filter((l) => !held.includes(l)));
    const first = evalPairs[0];
    expect(first.prompt[0]).toBe(STORIES_BOS);
    expect(tokenizer.decode(first.prompt, { skipSpecialTokens: true })).toBe(prompt(held[0] - 1));
    expect(tokenizer.decode(first.chosen, { skipSpecialTokens: true })).toBe(`A cat sat in place ${held[0] - 1}.`);
    expect(first.chosen.at(-1)).toBe(STORIES_EOS);
    expect(first.rejected.at(-1)).toBe(STORIES_EOS);
    expect(data.samplePrompts).toHaveLength(SAMPLE_PROMPTS);
    expect(data.samplePrompts[0]).toEqual(first.prompt);
  });

  test('max prompt length keeps the end of the prompt, max length the start of the answers', () => {
    const full = prepareRunData(record, tokenizer, { method: 'orpo', maxLength: 64, completionOnly: true, preference: preference() }).train as TokenizedPair[];
    const cut = prepareRunData(record, tokenizer, { method: 'orpo', maxLength: 9, completionOnly: true, preference: preference({ maxPromptLength: 4 }) }).train as TokenizedPair[];
    expect(cut.map((p) => p.line)).toEqual(full.map((p) => p.line));
    cut.forEach((p, i) => {
      expect(full[i].prompt.length).toBeGreaterThan(4);
      expect(p.prompt).toEqual(full[i].prompt.slice(-4));
      expect(p.chosen).toEqual(full[i].chosen.slice(0, 5));
      expect(p.rejected).toEqual(full[i].rejected.slice(0, 5));
    });
    // A run stored without preference settings gets TRL's defaults (SimPO's gamma 0.5).
    const simpo = prepareRunData(record, tokenizer, { method: 'simpo', maxLength: 64, completionOnly: true }).objective as PreferenceObjective;
    expect(simpo.config).toMatchObject({ method: 'simpo', beta: 0.1, simpoGamma: 0.5 });
    expect(simpo.needsReference).toBe(false);
  });

  test('a method that does not fit the dataset is refused, naming the dataset, its format and what the method needs', () => {
    expect(() => prepareRunData(record, tokenizer, { method: 'sft', maxLength: 64, completionOnly: true })).toThrow(
      'The dataset "pairs" is a preference ({"prompt"?, "chosen", "rejected"}, as text or message lists) dataset; SFT needs language modeling, ' +
        'prompt-completion, pre-tokenized, Alpaca or ShareGPT records. This dataset fits DPO, SimPO and ORPO.',
    );
    const sft: DatasetRecord = { ...record, name: 'stories', method: 'sft', format: 'prompt-completion', examples: [] };
    expect(() => prepareRunData(sft, tokenizer, { method: 'dpo', maxLength: 64, completionOnly: true })).toThrow(
      'The dataset "stories" is a prompt-completion ({"prompt", "completion"}) dataset; DPO needs preference, pre-tokenized preference, ' +
        'Alpaca preference, ShareGPT preference or LLaMA-Factory v1 preference records. This dataset fits SFT and GRPO.',
    );
    expect(() => prepareRunData(record, tokenizer, { method: 'dpo', maxLength: 64, completionOnly: true, preference: preference({ beta: 0 }) })).toThrow(/beta must be a number above 0, got 0/);
    // Answers the same within the max length teach nothing; prompts that fill it leave no answer.
    const same: DatasetRecord = { ...record, examples: pairs.map((p) => ({ ...p, example: { ...p.example, rejected: `${p.example.chosen} Then it slept.` } })) };
    expect(() => prepareRunData(same, tokenizer, { method: 'dpo', maxLength: 30, completionOnly: true, preference: preference() })).toThrow(
      'The dataset "pairs" has no usable training example for this model (15 pairs have the same chosen and rejected tokens within the maximum length of 30 tokens).',
    );
    expect(() => prepareRunData(record, tokenizer, { method: 'dpo', maxLength: 4, completionOnly: true, preference: preference() })).toThrow(
      /The dataset "pairs" has no usable training example for this model \(line \d+: has a prompt of \d+ tokens, which leaves no room for an answer within the maximum length of 4 tokens\)/,
    );
  });
});
