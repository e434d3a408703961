// A studio GRPO run (TrainingRun, the worker's loop with its bookkeeping) on the real GPU engine with
// stories260K and the stories-setting prompts, its IndexedDB writes kept in memory, its custom reward in the
// Node sandbox (the browser's is the same protocol):
// - a run paused mid-way and resumed from its checkpoint samples the same completions and trains to the
//   same losses and rewards as the uninterrupted run (the checkpoint carries the sampler's generation; the
//   rewards are compared exactly);
// - the latest generation's rollouts are on the run's record (cut to a table's needs, the failing custom
//   calls counted) and posted to the page, the last post equal to the record's; each evaluation's row
//   carries its held-out rollouts, whose mean reward is the row's eval_reward;
// - beta > 0 uploads the reference (base model = adapter off): step 1's kl is 0 with a fresh adapter;
// - "Test on samples" scores the loaded model's own completions, with a throwing custom reward's errors.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/engine/data/detect';
import { parseRecords } from '../../src/engine/data/read-records';
import { toSftDataset } from '../../src/engine/data/sft-examples';
import type { CodeSandbox } from '../../src/engine/eval/sandbox';
import type { GpuContext } from '../../src/engine/gpu/context';
import { planAdapter } from '../../src/engine/lora/adapter';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { readCheckpoint } from '../../src/engine/train/checkpoint';
import { createNodeSandbox } from '../../src/node/sandbox/node-sandbox';
import { GRPO_DEFAULTS } from '../../src/engine/train/grpo/grpo-config';
import type { DatasetRecord, MetricRow, RunRecord, RunSettings, StoredGrpoSettings, StoredRollouts } from '../../src/storage/records';
import type { ActiveModel, ModelSession } from '../../src/worker/model-session';
import type { RunEvent } from '../../src/worker/protocol-runs';
import type { LoadedModelInfo } from '../../src/worker/protocol';
import { policyStart } from '../../src/worker/run-adapters';
import { prepareMethodData } from '../../src/worker/run-data';
import { runRewardTest } from '../../src/worker/run-reward-test';
import { openRewardSet } from '../../src/worker/run-rewards';
import { ROLLOUT_TEXT_CHARS } from '../../src/worker/run-rollouts';
import { TrainingRun } from '../../src/worker/run-session';
import type { WorkerDeps } from '../../src/worker/worker-deps';
import type { StudioDb } from '../../src/storage/db';
import { testGpu } from '../helpers/gpu';
import { MemoryStore } from '../helpers/memory-run-store';
import { storiesTokenizer } from '../helpers/stories-tokenizer';
import { loadModel, STORIES260K_DIR, type LoadedModel } from '../helpers/tiny-models';
import { sftRunSettings } from '../helpers/run-settings';

const SAMPLE = resolve(__dirname, '../../public/datasets/stories-setting/train.jsonl');

/** A custom reward that throws for completions of an odd length, else scores its words / 10. */
const CUSTOM = `(completion, example) => {
  if (completion.length % 2 === 1) throw new Error('odd length ' + completion.length);
  return completion.split(' ').length / 10 + (completion.includes(example.completion.slice(0, 4)) ? 1 : 0);
}`;

function sampleDataset(): DatasetRecord {
  const sft = toSftDataset(detectFormat(parseRecords(new Uint8Array(readFileSync(SAMPLE)), 'train.jsonl'), 'sft'));
  // 40 prompts, 4 of them held out: the run and its evaluations stay short.
  const examples = sft.examples.slice(0, 40);
  return { id: 'd', name: 'stories', source: 'train.jsonl', createdAt: '', method: 'sft', format: sft.format, examples, skipped: [], split: { evalFraction: 0.1, seed: 0 } };
}

// TRL's defaults (the studio keeps no num_generations_eval: it follows num_generations), small generations.
const { numGenerationsEval: _followsNumGenerations, ...TRL_DEFAULTS } = GRPO_DEFAULTS;
const GRPO: StoredGrpoSettings = {
  ...TRL_DEFAULTS,
  numGenerations: 2,
  maxCompletionLength: 8,
  rewards: [
    { kind: 'length', name: 'length', weight: 1, arg: '5' },
    { kind: 'custom', name: 'words', weight: 0.5, arg: CUSTOM },
  ],
  rewardTimeLimitMs: 2000,
};

function settings(steps: number, checkpointEvery: number, evalEvery: number, grpo: Partial<StoredGrpoSettings> = {}): RunSettings {
  return { ...sftRunSettings(steps, checkpointEvery, evalEvery, 5e-3), method: 'grpo', grpo: { ...GRPO, ...grpo } };
}

const stepRows = (store: MemoryStore, id: string) =>
  store.rows.filter((r): r is Extract<MetricRow, { kind: 'step' }> => r.runId === id && r.kind === 'step').sort((a, b) => a.step - b.step);
const evalRows = (store: MemoryStore, id: string) =>
  store.rows.filter((r): r is Extract<MetricRow, { kind: 'eval' }> => r.runId === id && r.kind === 'eval').sort((a, b) => a.step - b.step);

describe('a GRPO TrainingRun on the GPU', () => {
  let ctx: GpuContext;
  let disk: LoadedModel;
  let model: ActiveModel;
  const sandboxes: CodeSandbox[] = [];
  const tokenizer = storiesTokenizer();
  const dataset = sampleDataset();
  const sandbox = () => {
    const box = createNodeSandbox();
    sandboxes.push(box);
    return box;
  };

  async function start(store: MemoryStore, run: RunRecord, events: RunEvent[], onStep?: (step: number, training: TrainingRun) => void) {
    store.runs.set(run.id, run);
    const plan = planAdapter(disk.config.architecture, disk.weights, run.settings.lora);
    const stored = store.checkpoints.get(run.id);
    const resume = stored ? readCheckpoint(stored.bytes, plan) : undefined;
    const grpo = run.settings.grpo!;
    let training: TrainingRun | null = null;
    training = await TrainingRun.start({
      store,
      run,
      model,
      tokenizer,
      data: prepareMethodData(dataset, tokenizer, run.settings),
      rewards: await openRewardSet(grpo.rewards, grpo.rewardTimeLimitMs, sandbox),
      adapter: resume?.adapter ?? policyStart(run.settings, model, undefined),
      resume,
      lock: { release: () => undefined },
      claim: { release: () => undefined },
      listener: (e) => {
        events.push(e);
        if (e.kind === 'metric' && e.row.kind === 'step' && training) onStep?.(e.row.step, training);
      },
    });
    return training;
  }

  const record = (id: string, s: RunSettings): RunRecord => ({ id, name: id, createdAt: '', updatedAt: '', status: 'running', settings: s, step: 0, checkpointStep: 0 });

  beforeAll(async () => {
    ctx = await testGpu();
    disk = await loadModel(STORIES260K_DIR);
    model = {
      model: await GpuCausalLm.create(ctx, disk.config, disk.weights, { weightFormat: 'f32' }),
      tokenizer,
      config: disk.config,
      layout: disk.weights,
      request: { kind: 'offline', id: 'stories260K' },
      info: { source: 'stories260K' } as LoadedModelInfo,
      sources: { config: disk.config },
    };
  });

  afterAll(() => {
    model?.model.dispose();
    for (const box of sandboxes) box.dispose();
  });

  it('pauses and resumes to the same completions, rewards and losses; keeps and posts the rollouts', async () => {
    const s = settings(5, 2, 5);
    const store = new MemoryStore();
    const straightEvents: RunEvent[] = [];
    const straight = await (await start(store, record('straight', s), straightEvents)).done;
    expect(straight.status, straight.message).toBe('completed');
    expect(model.model.adapter).toBeNull();

    // Two prompts of two completions per step: 5 generations, the last trains step 5.
    const steps = stepRows(store, 'straight');
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    const latest = store.runs.get('straight')!.rollouts!;
    expect(latest).toMatchObject({ step: 5, generation: 4, names: ['length', 'words'], totalRows: 4 });
    expect(latest.rows.map((r) => r.group)).toEqual([0, 0, 1, 1]);
    for (const row of latest.rows) {
      expect(row.prompt).toMatch(/^Setting: .+\.\n$/);
      expect(row.completion.length).toBeLessThanOrEqual(ROLLOUT_TEXT_CHARS + 1);
      expect(row.tokens).toBeGreaterThan(0);
      expect(row.tokens).toBeLessThanOrEqual(8);
      // The total is the weighted sum of the functions (a failed call counts 0).
      expect(row.reward).toBeCloseTo(row.rewards.length + 0.5 * row.rewards.words, 12);
    }
    // The step's metrics count the same failed custom calls the record shows (odd-length completions).
    const odd = latest.rows.filter((r) => r.completion.length % 2 === 1).length;
    expect(latest.failureCount).toBe(odd);
    expect(latest.failures.map((f) => f.name)).toEqual(Array(odd).fill('words'));
    expect(steps[4].objective?.reward_errors).toBe(odd);
    expect(steps[4].objective?.reward).toBeCloseTo(latest.meanReward, 12);
    // Every step's reward errors together: the odd-length completions of all 5 generations were seen failing.
    const errorsSeen = steps.reduce((n, r) => n + (r.objective?.reward_errors ?? 0), 0);
    expect(errorsSeen).toBeGreaterThan(0);

    // Posted to the page at most every 500 ms (never more than once per generation); the last post is the record's.
    const posts = straightEvents.filter((e): e is Extract<RunEvent, { kind: 'rollouts' }> => e.kind === 'rollouts');
    expect(posts.length).toBeGreaterThanOrEqual(1);
    expect(posts.length).toBeLessThanOrEqual(5);
    expect(posts.at(-1)!.rollouts).toEqual(latest);
    expect(straightEvents.indexOf(posts.at(-1)!)).toBeLessThan(straightEvents.length - 1);

    // Evaluations at 0 and 5 sample the 4 held-out prompts twice each; their mean reward is eval_reward.
    const evals = evalRows(store, 'straight');
    expect(evals.map((r) => r.step)).toEqual([0, 5]);
    for (const e of evals) {
      const r = e.rollouts as StoredRollouts;
      expect(r).toMatchObject({ step: e.step, generation: -1, totalRows: 8 });
      expect(e.samples).toEqual([]);
      expect(e.objective?.eval_reward).toBeCloseTo(r.meanReward, 12);
      expect(e.objective?.['eval_rewards/length/mean']).toBeCloseTo(r.rows.reduce((a, x) => a + x.rewards.length, 0) / 8, 12);
    }
    // The held-out prompts are sampled with the same seed each time: the base's and the trained adapter's differ only by training.
    expect(evals[0].rollouts!.rows.map((r) => r.prompt)).toEqual(evals[1].rollouts!.rows.map((r) => r.prompt));

    // The same run paused after step 3 (a checkpoint at 3, past the one at 2), then resumed: steps 4 and 5 sample and train as before.
    const events: RunEvent[] = [];
    const paused = await (await start(store, record('paused', s), events, (step, run) => step === 3 && void run.pause())).done;
    expect(paused).toMatchObject({ status: 'paused', step: 3, checkpointStep: 3 });
    const resumed = await (await start(store, { ...paused, status: 'running' }, events)).done;
    expect(resumed).toMatchObject({ status: 'completed', step: 5, checkpointStep: 5 });
    const again = stepRows(store, 'paused');
    expect(again.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    for (const [i, want] of steps.entries()) {
      expect(again[i].objective?.reward, `step ${want.step} reward`).toBe(want.objective?.reward);
      expect(Math.abs(again[i].loss - want.loss), `step ${want.step} loss`).toBeLessThan(1e-6);
    }
    // The same completions and rewards (the sampling speed aside).
    expect({ ...store.runs.get('paused')!.rollouts!, tokensPerSecond: 0 }).toEqual({ ...latest, tokensPerSecond: 0 });
  });

  it('beta > 0 reads the base model as the reference: kl is 0 at step 1 with a fresh adapter', async () => {
    const store = new MemoryStore();
    const done = await (await start(store, record('kl', settings(2, 0, 0, { beta: 0.04 })), [])).done;
    expect(done.status, done.message).toBe('completed');
    const steps = stepRows(store, 'kl');
    expect(steps[0].objective?.kl).toBeDefined();
    expect(Math.abs(steps[0].objective!.kl)).toBeLessThan(1e-6);
    expect(steps[1].objective?.kl).toBeGreaterThan(0);
    expect(model.model.adapter).toBeNull();
  });

  it('tests the rewards on the loaded model’s own completions of held-out prompts, errors per call', async () => {
    const db = { get: async (_store: string, id: string) => (id === 'd' ? dataset : undefined) } as unknown as StudioDb;
    let claimed = 0;
    const models = { active: model, claim: () => (claimed++, { release: () => claimed-- }) } as unknown as ModelSession;
    const deps = { models, db: async () => db } as unknown as WorkerDeps;
    const request = { rewards: GRPO.rewards, rewardTimeLimitMs: 2000, datasetId: 'd', sampling: { maxCompletionLength: 8, temperature: 1, topP: 1, topK: 0, stopStrings: [] }, count: 3, seed: 1 };
    const report = await runRewardTest(deps, sandbox, request);
    expect(claimed).toBe(0);
    expect(report.names).toEqual(['length', 'words']);
    expect(report.weights).toEqual([1, 0.5]);
    expect(report.rows).toHaveLength(3);
    for (const row of report.rows) {
      expect(row.prompt).toMatch(/^Setting: .+\.\n$/);
      const odd = row.completion.length % 2 === 1;
      expect(row.errors[1] === null, row.completion).toBe(!odd);
      if (odd) expect(row.errors[1]).toMatch(/odd length/);
      expect(row.total).toBeCloseTo(row.values[0] + 0.5 * row.values[1], 12);
    }
    expect(report.errorCount).toBe(report.rows.filter((r) => r.completion.length % 2 === 1).length);
    // The same seed writes the same completions; typed ones are scored with the prompts' fields.
    expect((await runRewardTest(deps, sandbox, request)).rows.map((r) => r.completion)).toEqual(report.rows.map((r) => r.completion));
    const typed = await runRewardTest(deps, sandbox, { ...request, completions: ['Once upon a time', 'odd'] });
    // length: 1 − |words − 5| / 5; words: words / 10 + 1 when it holds the example's completion's start ("Once").
    const values = typed.rows.map((r) => r.values);
    expect(values[0][0]).toBeCloseTo(0.8, 12);
    expect(values[0][1]).toBeCloseTo(1.4, 12);
    expect(values[1][0]).toBeCloseTo(0.2, 12);
    expect(values[1][1]).toBe(0);
    expect(typed.rows[1].errors[1]).toMatch(/odd length 3/);
  });
});
