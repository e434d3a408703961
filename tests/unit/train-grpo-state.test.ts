// The Train page's GRPO state that needs no browser: TRL's defaults, the check that names the first bad field
// or reward, the settings the worker takes (epsilon_high defaulting to epsilon), the memory estimate with the
// sampling's KV caches, and the chart columns of a GRPO run under TRL's metric names (held-out values at
// their evaluations, a resumed run's steps replaced).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readModelConfig } from '../../src/engine/model/config';
import { estimateMemory } from '../../src/engine/model/memory-estimate';
import type { MetricRow } from '../../src/storage/records';
import { trainMemory } from '../../src/state/train-memory';
import type { LoadedModelInfo } from '../../src/worker/protocol';
import { STORIES260K_DIR } from '../helpers/tiny-models';
import { GrpoColumns } from '../../src/state/train-grpo-columns';
import { freeRewardName, rewardSpecs, rewardsProblem, type RewardDraft } from '../../src/state/train-grpo-rewards';
import { defaultGrpoValues, defaultMaxCompletionLength, grpoProblem, grpoSettings, type GrpoValues } from '../../src/state/train-grpo-values';

const contains: RewardDraft = { id: 1, kind: 'contains', name: 'once', weight: 1, arg: 'Once' };
const custom: RewardDraft = { id: 2, kind: 'custom', name: 'mine', weight: 0.5, arg: '(c) => c.length' };
const values = (over: Partial<GrpoValues> = {}): GrpoValues => ({ ...defaultGrpoValues(512), rewards: [contains, custom], ...over });
const loop = { batchSize: 8, gradAccum: 1, maxLength: 512 };

describe('GRPO fields', () => {
  test("start at TRL's GRPOConfig defaults, the completion length at most half the max length", () => {
    expect(defaultGrpoValues(2048)).toEqual({
      numGenerations: 8,
      maxCompletionLength: 512,
      temperature: 1,
      topP: 1,
      topK: 0,
      stopText: '',
      beta: 0,
      epsilon: 0.2,
      epsilonHigh: null,
      numIterations: 1,
      lossType: 'dapo',
      scaleRewards: 'group',
      maskTruncatedCompletions: false,
      rewards: [],
      rewardTimeLimitMs: 1000,
    });
    expect(defaultMaxCompletionLength(512)).toBe(256);
    expect(defaultMaxCompletionLength(1)).toBe(1);
  });

  test('give the stored settings: epsilon_high follows epsilon unless set, stop strings one per line, empty arguments dropped', () => {
    const s = grpoSettings(values({ epsilon: 0.3, stopText: 'The end.\n\n\\n\\n' }));
    expect(s.epsilonHigh).toBe(0.3);
    expect(s.stopStrings).toEqual(['The end.', '\n\n']);
    expect(grpoSettings(values({ epsilonHigh: 0.28 })).epsilonHigh).toBe(0.28);
    expect(grpoSettings(values({ epsilonHigh: undefined })).epsilonHigh).toBe(0.2);
    expect(s.rewards).toEqual([
      { kind: 'contains', name: 'once', weight: 1, arg: 'Once' },
      { kind: 'custom', name: 'mine', weight: 0.5, arg: '(c) => c.length' },
    ]);
    expect(rewardSpecs([{ id: 3, kind: 'json', name: ' j ', weight: 2, arg: '' }])).toEqual([{ kind: 'json', name: 'j', weight: 2 }]);
    expect(s).toMatchObject({ numGenerations: 8, maxCompletionLength: 256, lossType: 'dapo', scaleRewards: 'group', rewardTimeLimitMs: 1000 });
  });

  test('name the first bad field by its TRL name, and the loop settings GRPO needs', () => {
    expect(grpoProblem(values(), loop)).toBeNull();
    expect(grpoProblem(values({ numGenerations: 1 }), loop)).toBe('GRPO: num_generations must be an integer >= 2, got 1.');
    expect(grpoProblem(values({ temperature: 0 }), loop)).toBe('GRPO: temperature must be a number above 0 (GRPO samples), got 0.');
    expect(grpoProblem(values({ epsilon: 1 }), loop)).toBe('GRPO: epsilon must be in (0, 1), got 1.');
    expect(grpoProblem(values({ numGenerations: 3 }), loop)).toBe(
      'Batch size × gradient accumulation (8 × 1 = 8 completions) must be a multiple of num_generations (3): each step trains whole groups.',
    );
    expect(grpoProblem(values({ numGenerations: 3 }), { ...loop, batchSize: 3, gradAccum: 2 })).toBeNull();
    expect(grpoProblem(values({ maxCompletionLength: 512 }), loop)).toBe('max_completion_length (512) must be below the max length (512), which also holds the prompt.');
    expect(grpoProblem(values({ rewardTimeLimitMs: 5 }), loop)).toBe('The reward time limit must be from 10 to 60000 ms per call.');
    expect(grpoProblem(values({ stopText: 'a\nb\nc\nd\ne\nf\ng\nh\ni' }), loop)).toBe('GRPO: at most 8 stop strings.');
    expect(grpoProblem(values({ rewards: [] }), loop)).toBe('GRPO needs at least one reward function: add one to the reward list.');
  });

  test('name the first unusable reward: names, weights, built-in arguments, custom code', () => {
    expect(rewardsProblem([contains, custom])).toBeNull();
    expect(rewardsProblem([contains, { ...custom, name: 'once' }])).toBe('Reward 2 “once”: the name is used twice.');
    expect(rewardsProblem([{ ...contains, name: 'has space' }])).toMatch(/^Reward 1 “has space”: the name must start with a letter/);
    expect(rewardsProblem([{ ...contains, weight: Number.NaN }])).toBe('Reward 1 “once”: the weight must be a number.');
    expect(rewardsProblem([{ ...contains, arg: '' }])).toBe('Reward 1 “once”: contains needs the text to look for (contains=...).');
    expect(rewardsProblem([{ id: 4, kind: 'regex', name: 'r', weight: 1, arg: '(' }])).toMatch(/^Reward 1 “r”: regex pattern: /);
    expect(rewardsProblem([{ id: 5, kind: 'length', name: 'l', weight: 1, arg: '-3' }])).toBe('Reward 1 “l”: length\'s target must be a positive number of words, got "-3".');
    expect(rewardsProblem([{ ...custom, arg: '  ' }])).toBe('Reward 1 “mine”: write the function (completion, example) => number.');
    // Optional arguments may stay empty.
    expect(rewardsProblem([{ id: 6, kind: 'answer-match', name: 'a', weight: 1, arg: '' }, { id: 7, kind: 'format', name: 'f', weight: 0.5, arg: '' }])).toBeNull();
    expect(freeRewardName('answer-match', ['answer_match', 'answer_match_2'])).toBe('answer_match_3');
  });
});

describe('GRPO memory estimate', () => {
  test('single sequences with no reference in the step, plus the KV caches of every completion sampled together', async () => {
    const config = readModelConfig(await readFile(join(STORIES260K_DIR, 'config.json'), 'utf8'), 'config.json');
    const info = { source: 'stories260K', config, parameters: 260_000, weightFormat: 'f32' } as LoadedModelInfo;
    const limits = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };
    const m = trainMemory(info, { seqLen: 64, batch: 4, rank: 8, targets: ['q_proj', 'v_proj'], method: 'grpo', rolloutSequences: 8 }, limits);
    if ('error' in m) throw new Error(m.error);
    expect(m.estimate).toEqual(estimateMemory(config, { seqLen: 64, batch: 4, weightFormat: 'f32', training: { loraRank: 8, targets: ['q_proj', 'v_proj'] } }));
    const { numLayers: L, numKvHeads: Hkv, headDim: D } = config;
    // K and V per layer, 8 sequences of up to 64 tokens, f32.
    expect(m.rollouts).toEqual({ sequences: 8, kvCache: L * 2 * 8 * 64 * Hkv * D * 4 });
    expect(m.total).toBe(m.estimate.total + m.rollouts!.kvCache);
    const sft = trainMemory(info, { seqLen: 64, batch: 4, rank: 8, targets: ['q_proj', 'v_proj'], method: 'sft', rolloutSequences: 8 }, limits);
    expect(sft).not.toHaveProperty('rollouts');
  });
});

const step = (n: number, objective: Record<string, number>): MetricRow => ({
  runId: 'r',
  kind: 'step',
  step: n,
  loss: 0,
  lr: 1e-3,
  grad_norm: 1,
  tokens: 10,
  trained_tokens: 5,
  tokens_per_s: 100,
  epoch: 0,
  objective,
});
const evaluation = (n: number, objective: Record<string, number>): MetricRow => ({ runId: 'r', kind: 'eval', step: n, eval_loss: 0, eval_tokens: 5, samples: [], objective });

describe('GRPO chart columns', () => {
  const train = (n: number, reward: number) => ({
    reward,
    reward_std: 0.1,
    'rewards/once/mean': reward / 2,
    'rewards/once/std': 0,
    'rewards/mine/mean': reward * 2,
    'completions/mean_length': 10 + n,
    'completions/min_length': 2,
    'completions/max_length': 16,
    'completions/clipped_ratio': 0.25,
    frac_reward_zero_std: 0.5,
    entropy: 3 - n / 10,
    'clip_ratio/region_mean': 0,
    'clip_ratio/low_mean': 0,
    'clip_ratio/high_mean': 0,
  });

  test('put training and held-out values on one step axis under TRL names; kl only when a row has it', () => {
    const c = new GrpoColumns();
    c.add(evaluation(0, { eval_reward: 0.1, 'eval_rewards/once/mean': 0.05, 'eval_completions/mean_length': 9, eval_entropy: 3.1 }));
    c.add(step(1, train(1, 0.2)));
    c.add(step(2, train(2, 0.4)));
    c.add(evaluation(2, { eval_reward: 0.5, 'eval_rewards/once/mean': 0.25, 'eval_rewards/mine/mean': 1 }));
    const charts = c.charts();
    expect(charts.functions).toEqual(['once', 'mine']);
    expect(charts.reward).toEqual([
      [0, 1, 2],
      [null, 0.2, 0.4],
      [0.1, null, 0.5],
    ]);
    expect(charts.perFunction).toEqual([
      [0, 1, 2],
      [null, 0.1, 0.2],
      [null, 0.4, 0.8],
      [0.05, null, 0.25],
      [null, null, 1],
    ]);
    expect(charts.length[1]).toEqual([null, 11, 12]);
    expect(charts.length[4]).toEqual([9, null, null]);
    expect(charts.shares).toEqual([
      [0, 1, 2],
      [null, 0.25, 0.25],
      [null, 0.5, 0.5],
    ]);
    expect(charts.entropy[2]).toEqual([3.1, null, null]);
    expect(charts.kl).toBeNull();
    c.add(step(3, { ...train(3, 0.6), kl: 0.01 }));
    expect(c.charts().kl).toEqual([
      [0, 1, 2, 3],
      [null, null, null, 0.01],
      [null, null, null, null],
    ]);
  });

  test("a resumed run's steps replace those after its checkpoint; a DPO run's rows leave the columns empty", () => {
    const c = new GrpoColumns();
    for (const n of [1, 2, 3]) c.add(step(n, train(n, n)));
    c.add(evaluation(3, { eval_reward: 9 }));
    c.add(step(2, train(2, 20)));
    expect(c.charts().reward).toEqual([
      [1, 2],
      [1, 20],
      [null, null],
    ]);
    const dpo = new GrpoColumns();
    dpo.add(step(1, { 'rewards/margins': 1, 'rewards/accuracies': 1, 'rewards/chosen': 0.5 }));
    expect(dpo.charts().reward).toEqual([[], [], []]);
    expect(dpo.charts().functions).toEqual([]);
  });
});
