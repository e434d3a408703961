// The worker's GRPO helpers that need no GPU: which saved datasets GRPO reads (a prompt column, whichever
// family stored it), a run's prompts (split as the Data page says, tokenized with stories260K's tokenizer,
// the other fields kept for the rewards, prompts that leave no room for the completion counted and left
// out), rollouts cut for the page and the store, and the throttle that posts them.

import { afterEach, describe, expect, test, vi } from 'vitest';
import type { SftRecord } from '../../src/engine/data/sft-examples';
import type { RolloutReport, RolloutRow } from '../../src/engine/train/grpo/rollout-feed';
import type { DatasetRecord, StoredGrpoSettings } from '../../src/storage/records';
import { evalIndices } from '../../src/worker/dataset-split';
import { isGrpoData, prepareMethodData } from '../../src/worker/run-data';
import { prepareGrpoData } from '../../src/worker/run-grpo-data';
import { grpoEvalPrompts } from '../../src/worker/run-grpo-eval';
import { datasetMismatch } from '../../src/worker/run-method';
import { compactRollouts, LatestThrottle, ROLLOUT_FAILURES, ROLLOUT_ROWS, ROLLOUT_TEXT_CHARS } from '../../src/worker/run-rollouts';
import { storiesTokenizer, STORIES_BOS } from '../helpers/stories-tokenizer';

const GRPO: StoredGrpoSettings = {
  numGenerations: 4,
  maxCompletionLength: 16,
  temperature: 0.9,
  topP: 0.95,
  topK: 20,
  stopStrings: ['The end.'],
  beta: 0.04,
  numIterations: 2,
  epsilon: 0.2,
  epsilonHigh: 0.28,
  lossType: 'bnpo',
  scaleRewards: 'batch',
  maskTruncatedCompletions: true,
  rewards: [{ kind: 'contains', name: 'once', weight: 1, arg: 'Once' }],
  rewardTimeLimitMs: 500,
};

const tokenizer = storiesTokenizer();
const examples: SftRecord[] = Array.from({ length: 80 }, (_, i) => ({
  line: i + 1,
  example: { kind: 'prompt-completion', prompt: `Setting: place ${i}.\n`, completion: `Once upon a time there was cat ${i}.` },
}));

function record(over: Partial<DatasetRecord> = {}): DatasetRecord {
  return { id: 'd', name: 'stories', source: 'x.jsonl', createdAt: '', method: 'sft', format: 'prompt-completion', examples, skipped: [], split: { evalFraction: 0.5, seed: 3 }, ...over } as DatasetRecord;
}

describe('datasets GRPO reads', () => {
  test('a dataset with a prompt column fits GRPO whichever family stored it; others are refused naming what GRPO needs', () => {
    expect(datasetMismatch({ name: 'p', method: 'sft', format: 'prompt-completion' }, 'grpo')).toBeNull();
    expect(datasetMismatch({ name: 'q', method: 'sft', format: 'question-answer' }, 'grpo')).toBeNull();
    expect(datasetMismatch({ name: 'lm', method: 'sft', format: 'language-modeling' }, 'grpo')).toBe(
      'The dataset "lm" is a language modeling ({"text"} or {"messages"}) dataset; GRPO needs prompt-only, prompt-completion or question-answer records. This dataset fits SFT.',
    );
    expect(datasetMismatch({ name: 'pairs', method: 'dpo', format: 'preference' }, 'grpo')).toMatch(/^The dataset "pairs" is a preference .* GRPO needs prompt-only, prompt-completion or question-answer records\. This dataset fits DPO, SimPO and ORPO\.$/);
    // The other methods still read by family.
    expect(datasetMismatch({ name: 'p', method: 'sft', format: 'prompt-completion' }, 'sft')).toBeNull();
    expect(datasetMismatch({ name: 'p', method: 'sft', format: 'prompt-completion' }, 'dpo')).toMatch(/DPO needs preference/);
  });
});

describe('a GRPO run\'s prompts', () => {
  test('split as the dataset says, tokenized with BOS, the completion kept as a field, the objective from the stored settings', () => {
    const data = prepareMethodData(record(), tokenizer, { method: 'grpo', maxLength: 64, completionOnly: true, grpo: GRPO, loop: { batchSize: 4, gradAccum: 2 } });
    if (!isGrpoData(data)) throw new Error('not GRPO data');
    const held = evalIndices(80, { evalFraction: 0.5, seed: 3 }).map((i) => i + 1);
    expect(held).toHaveLength(40);
    // The evaluation samples the first held-out prompts: 16 of them, 4 completions each, 64 sequences at once.
    expect(data.eval.map((e) => e.line)).toEqual(held.slice(0, 16));
    expect(data.train.map((e) => e.line)).toEqual(examples.map((e) => e.line).filter((l) => !held.includes(l)));
    const first = data.train[0];
    expect(first.promptText).toBe(`Setting: place ${first.line - 1}.\n`);
    expect(first.prompt[0]).toBe(STORIES_BOS);
    expect(first.prompt).toEqual(tokenizer.encode(first.promptText));
    expect(first.fields).toEqual({ completion: `Once upon a time there was cat ${first.line - 1}.` });
    expect(data.tooLong).toBe(0);
    expect(data.objective.config).toMatchObject({ numGenerations: 4, numGenerationsEval: 4, maxCompletionLength: 16, topK: 20, stopStrings: ['The end.'], beta: 0.04, numIterations: 2, epsilonHigh: 0.28, lossType: 'bnpo', scaleRewards: 'batch', maskTruncatedCompletions: true });
  });

  test('an evaluation samples at most 32 prompts and 64 sequences at once, or a training generation\'s sequences if more', () => {
    expect(grpoEvalPrompts(40, 2, 8)).toBe(32);
    expect(grpoEvalPrompts(40, 8, 8)).toBe(8);
    expect(grpoEvalPrompts(40, 8, 128)).toBe(16);
    expect(grpoEvalPrompts(3, 8, 8)).toBe(3);
    expect(grpoEvalPrompts(40, 100, 8)).toBe(1);
    expect(grpoEvalPrompts(0, 8, 8)).toBe(0);
  });

  test('conversations keep their messages as the prompt and the completion messages as the field', () => {
    const chat: SftRecord = { line: 1, example: { kind: 'chat-prompt-completion', prompt: [{ role: 'user', content: 'Hi', train: false }], completion: [{ role: 'assistant', content: 'Hello', train: true }] } };
    // stories260K has no chat template: the whole dataset is refused naming it, as the CLI does.
    expect(() => prepareGrpoData(record({ examples: [chat], split: { evalFraction: 0, seed: 0 } }), tokenizer, { maxLength: 64, grpo: GRPO })).toThrow(/^stories: its prompts are conversations, which need a chat template/);
  });

  test('prompts that leave no room for max_completion_length are left out and counted; none left is refused', () => {
    const promptTokens = (i: number) => tokenizer.encode(`Setting: place ${i}.\n`).length;
    const lengths = examples.map((_, i) => promptTokens(i));
    const room = Math.min(...lengths);
    const tight = prepareGrpoData(record(), tokenizer, { maxLength: room + GRPO.maxCompletionLength, grpo: GRPO });
    expect(tight.tooLong).toBe(lengths.filter((n) => n > room).length);
    expect(tight.tooLong).toBeGreaterThan(0);
    expect([...tight.train, ...tight.eval].every((e) => e.prompt.length <= room)).toBe(true);
    expect(() => prepareGrpoData(record(), tokenizer, { maxLength: room - 1 + GRPO.maxCompletionLength, grpo: GRPO })).toThrow(
      `The dataset "stories" has no usable training prompt for this model (every prompt is longer than the ${room - 1} tokens the max length of ${room - 1 + 16} leaves beside 16 completion tokens).`,
    );
    expect(() => prepareGrpoData(record(), tokenizer, { maxLength: 16, grpo: GRPO })).toThrow(/The max length \(16 tokens\) leaves no room for a prompt before max_completion_length \(16\) tokens/);
    expect(() => prepareGrpoData(record(), tokenizer, { maxLength: 64 })).toThrow(/needs its GRPO settings/);
    expect(() => prepareGrpoData(record(), tokenizer, { maxLength: 64, grpo: { ...GRPO, numGenerations: 1 } })).toThrow(/num_generations must be an integer >= 2, got 1/);
  });

  test('a dataset GRPO cannot read is refused by name before anything is tokenized', () => {
    const lm = record({ format: 'language-modeling', examples: [{ line: 1, example: { kind: 'text', text: 'Once.' } }] });
    expect(() => prepareMethodData(lm, tokenizer, { method: 'grpo', maxLength: 64, completionOnly: true, grpo: GRPO })).toThrow(/^The dataset "stories" is a language modeling .* GRPO needs/);
  });
});

function rolloutRow(i: number, G: number, over: Partial<RolloutRow> = {}): RolloutRow {
  return { group: Math.floor(i / G), prompt: `prompt ${Math.floor(i / G)}`, completion: `completion ${i}`, tokens: 3, truncated: i % 5 === 0, reward: i, rewards: { a: i, b: -i }, advantage: i % 2 ? 1 : -1, ...over };
}

describe('rollouts as the studio keeps them', () => {
  test('whole groups up to the row limit, the prompt’s end and the completion’s start, failures counted', () => {
    const G = 3;
    const long = 'x'.repeat(ROLLOUT_TEXT_CHARS - 10) + 'END OF PROMPT'.repeat(2);
    const rows = Array.from({ length: 70 }, (_, i) => rolloutRow(i, G, i === 0 ? { prompt: long, completion: `START${'y'.repeat(600)}` } : {}));
    const failures = Array.from({ length: 25 }, (_, i) => ({ name: 'b', group: i, completion: 0, message: `boom ${i} ${'z'.repeat(400)}` }));
    const report: RolloutReport = { step: 7, generation: 6, rows, failures, tokensPerSecond: 123 };
    const kept = compactRollouts(report, ['a', 'b']);
    // 64 rows would split a group of 3: 63 kept (21 whole groups).
    expect(ROLLOUT_ROWS).toBe(64);
    expect(kept.rows).toHaveLength(63);
    expect(kept.rows.at(-1)?.group).toBe(20);
    expect(kept).toMatchObject({ step: 7, generation: 6, names: ['a', 'b'], totalRows: 70, failureCount: 25, tokensPerSecond: 123 });
    // Mean over every completion, not only those kept: (0 + ... + 69) / 70.
    expect(kept.meanReward).toBeCloseTo(34.5, 12);
    expect(kept.rows[0].prompt).toBe(`…${long.slice(-ROLLOUT_TEXT_CHARS)}`);
    expect(kept.rows[0].prompt.endsWith('END OF PROMPTEND OF PROMPT')).toBe(true);
    expect(kept.rows[0].completion).toBe(`START${'y'.repeat(ROLLOUT_TEXT_CHARS - 5)}…`);
    expect(kept.rows[1]).toEqual({ ...rows[1], rewards: { a: 1, b: -1 } });
    expect(kept.failures).toHaveLength(ROLLOUT_FAILURES);
    expect(kept.failures[3]).toMatchObject({ name: 'b', group: 3, completion: 0 });
    expect(kept.failures[3].message).toHaveLength(301);
  });

  test('a group larger than the row limit is kept whole', () => {
    const rows = Array.from({ length: 80 }, (_, i) => rolloutRow(i, 80));
    expect(compactRollouts({ step: 1, generation: 0, rows, failures: [], tokensPerSecond: 0 }, ['a', 'b']).rows).toHaveLength(80);
  });
});

describe('LatestThrottle', () => {
  afterEach(() => vi.useRealTimers());

  test('posts the first value at once and then at most one per interval, the latest winning', () => {
    vi.useFakeTimers();
    let now = 0;
    const posted: number[] = [];
    const throttle = new LatestThrottle<number>((v) => posted.push(v), 500, () => now);
    throttle.push(1);
    expect(posted).toEqual([1]);
    now = 100;
    throttle.push(2);
    now = 200;
    throttle.push(3);
    expect(posted).toEqual([1]);
    now = 500;
    vi.advanceTimersByTime(400);
    expect(posted).toEqual([1, 3]);
    now = 1200;
    throttle.push(4);
    expect(posted).toEqual([1, 3, 4]);
    now = 1300;
    throttle.push(5);
    throttle.flush();
    expect(posted).toEqual([1, 3, 4, 5]);
    // Flushed: the timer it had set posts nothing more.
    vi.advanceTimersByTime(1000);
    expect(posted).toEqual([1, 3, 4, 5]);
  });
});
