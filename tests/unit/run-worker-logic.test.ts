// The worker's run helpers that need no GPU: model references a resume reloads from, the ETA, and a run's
// examples (split, tokenized with stories260K's tokenizer, sample prompts).

import { describe, expect, test } from 'vitest';
import type { SftRecord } from '../../src/engine/data/sft-examples';
import type { DatasetRecord, ModelRef } from '../../src/storage/records';
import { evalIndices } from '../../src/worker/dataset-split';
import type { ModelRequest, LoadedModelInfo } from '../../src/worker/protocol';
import { prepareRunData, promptOf, SAMPLE_PROMPTS } from '../../src/worker/run-data';
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
    const data = prepareRunData(record(split), tokenizer, { maxLength: 64, completionOnly: true });
    const held = evalIndices(20, split).map((i) => i + 1);
    expect(held).toHaveLength(5);
    expect(data.eval.map((e) => e.line)).toEqual(held);
    expect(data.train.map((e) => e.line)).toEqual(examples.map((e) => e.line).filter((l) => !held.includes(l)));
    const first = data.eval[0];
    expect(first.inputIds[0]).toBe(STORIES_BOS);
    expect(first.inputIds.at(-1)).toBe(STORIES_EOS);
    expect(data.samplePrompts).toHaveLength(SAMPLE_PROMPTS);
    // The sample prompt is the untrained prefix: BOS + the prompt text, which decodes back to it.
    expect(data.samplePrompts[0]).toEqual(promptOf(first));
    expect(tokenizer.decode(data.samplePrompts[0], { skipSpecialTokens: true })).toBe(`Setting: place ${held[0] - 1}.\n`);
    expect(first.trainMask[data.samplePrompts[0].length]).toBe(1);
    expect(first.trainMask[data.samplePrompts[0].length - 1]).toBe(0);
  });

  test('maxLength truncates; a dataset with no trainable example is refused naming a line', () => {
    const data = prepareRunData(record({ evalFraction: 0, seed: 0 }), tokenizer, { maxLength: 20, completionOnly: true });
    expect(data.eval).toEqual([]);
    expect(data.samplePrompts).toEqual([]);
    expect(Math.max(...data.train.map((e) => e.inputIds.length))).toBe(20);
    expect(() => prepareRunData(record({ evalFraction: 0, seed: 0 }), tokenizer, { maxLength: 3, completionOnly: true })).toThrow(
      /The dataset "stories" has no usable training example for this model \(line 1: has no trained token within the first 3 tokens\)/,
    );
  });
});
