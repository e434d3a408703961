// A run keeps the train/eval split its dataset had when it started, so a resume after the dataset's split
// was changed never trains on an example that was held out. Driven through the worker's own services on a
// fake IndexedDB with stories260K's tokenizer and layout: startRun stores the split with the run, the Data
// page changes the dataset's split, resumeRun prepares the same training and held-out examples as the start.
// The training loop itself (TrainingRun.start, GPU) is replaced by a recorder of what it would train on.
// A run saved before runs kept their split (no split in its settings) reads the dataset's: the dataset's
// split is then refused while such a run may resume, naming it, and the saved split is kept.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import type { PromptExample } from '../../src/engine/data/tokenize-prompts';
import type { TokenizedPair } from '../../src/engine/data/tokenize-preference';
import type { TokenizedExample } from '../../src/engine/data/tokenize-sft';
import type { CodeSandbox } from '../../src/engine/eval/sandbox';
import { getDataset, putDataset } from '../../src/storage/datasets-store';
import { openStudioDb, type StudioDb } from '../../src/storage/db';
import type { DatasetRecord, RunRecord, RunSettings } from '../../src/storage/records';
import { addRun, getRun, updateRun } from '../../src/storage/runs-store';
import { evalIndices } from '../../src/worker/dataset-split';
import { createDatasetsService } from '../../src/worker/datasets-service';
import type { ActiveModel } from '../../src/worker/model-session';
import { prepareMethodData } from '../../src/worker/run-data';
import type { TrainingRunSetup } from '../../src/worker/run-session';
import { createRunsService } from '../../src/worker/runs-service';
import type { WorkerDeps } from '../../src/worker/worker-deps';
import { sftRunSettings } from '../helpers/run-settings';
import { storiesTokenizer } from '../helpers/stories-tokenizer';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';

/** What each TrainingRun.start was given: the data a run would train on. */
const started: TrainingRunSetup[] = [];

vi.mock('../../src/worker/run-session', () => ({
  TrainingRun: {
    start: async (setup: TrainingRunSetup) => {
      started.push(setup);
      // The loop ends at once: its lock and the model are free again, as after a pause.
      setup.lock.release();
      setup.claim.release();
      return { id: setup.run.id, run: setup.run, done: Promise.resolve(setup.run) };
    },
  },
}));

/** navigator.locks as one tab sees it: held locks by name. */
function fakeLocks(): LockManager {
  const held = new Set<string>();
  return {
    request: (async (name: string, _options: LockOptions, callback: (lock: Lock | null) => unknown) => {
      if (held.has(name)) return callback(null);
      held.add(name);
      try {
        return await callback({ name, mode: 'exclusive' });
      } finally {
        held.delete(name);
      }
    }) as LockManager['request'],
    query: async () => ({ held: [...held].map((name) => ({ name, mode: 'exclusive' as const, clientId: 'tab' })), pending: [] }),
  };
}

const N = 40;
const FIRST = { evalFraction: 0.25, seed: 3 };
const SECOND = { evalFraction: 0.5, seed: 11 };

function sftDataset(split = FIRST): DatasetRecord {
  return {
    id: 'stories',
    name: 'stories',
    source: 'train.jsonl',
    createdAt: '2026-12-01T00:00:00.000Z',
    method: 'sft',
    format: 'prompt-completion',
    skipped: [],
    skippedCount: 0,
    split,
    examples: Array.from({ length: N }, (_, i) => ({
      line: i + 1,
      example: { kind: 'prompt-completion', prompt: `Setting: place ${i}.\n`, completion: `Once upon a time there was cat ${i}.` },
    })),
  };
}

/** Lines (1-based) held out by `split` of the N examples. */
const heldLines = (split: typeof FIRST) => evalIndices(N, split).map((i) => i + 1);
const lines = (items: readonly unknown[]) => (items as { line: number }[]).map((e) => e.line);

let db: StudioDb | undefined;
let active: ActiveModel;

beforeAll(async () => {
  const { config, weights, files } = await loadModel(STORIES260K_DIR);
  active = {
    model: {} as ActiveModel['model'],
    tokenizer: storiesTokenizer(),
    config,
    layout: weights,
    request: { kind: 'offline', id: 'stories260K' },
    info: { source: 'stories260K', weightFormat: 'f32' } as ActiveModel['info'],
    sources: files,
  };
  vi.stubGlobal('navigator', { locks: fakeLocks() });
});

afterAll(() => {
  vi.unstubAllGlobals();
});

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  db = await openStudioDb();
  started.length = 0;
});

afterEach(() => {
  db?.close();
  db = undefined;
});

function services() {
  const deps = {
    db: async () => db!,
    models: { active, claim: () => ({ release: () => undefined }) },
    matmulTuning: { ensure: async () => undefined },
  } as unknown as WorkerDeps;
  const noSandbox = (): CodeSandbox => {
    throw new Error('no suite runs code here');
  };
  return { runs: createRunsService(deps, noSandbox), datasets: createDatasetsService(deps) };
}

const settings = (): RunSettings => ({ ...sftRunSettings(10, 5, 5), datasetId: 'stories', datasetName: 'stories' });

describe('a run keeps the split it started with', () => {
  test('startRun stores the split; after the dataset is re-split, resumeRun trains on the same examples and never on a held-out one', async () => {
    const { runs, datasets } = services();
    await putDataset(db!, sftDataset());
    const run = await runs.startRun('split run', settings(), () => undefined);
    expect((await getRun(db!, run.id)).settings.split).toEqual(FIRST);
    const first = started[0].data as { train: readonly TokenizedExample[]; eval: readonly TokenizedExample[] };
    expect(lines(first.eval)).toEqual(heldLines(FIRST));
    await updateRun(db!, run.id, (r) => ({ ...r, status: 'paused' }));

    // The Data page changes the dataset's split: allowed, the run has its own.
    const summary = await datasets.setDatasetSplit('stories', SECOND);
    expect(summary.split).toEqual(SECOND);
    // The new split trains on examples the run held out: reading it on resume would leak them.
    expect(heldLines(FIRST).filter((l) => !heldLines(SECOND).includes(l)).length).toBeGreaterThan(0);

    await runs.resumeRun(run.id, () => undefined);
    expect(started).toHaveLength(2);
    const resumed = started[1].data as { train: readonly TokenizedExample[]; eval: readonly TokenizedExample[] };
    expect(lines(resumed.train).filter((l) => heldLines(FIRST).includes(l))).toEqual([]);
    expect(lines(resumed.train)).toEqual(lines(first.train));
    expect(lines(resumed.eval)).toEqual(heldLines(FIRST));
  });

  test('DPO pairs and GRPO prompts are split by the run\'s split, not the dataset\'s', () => {
    const tokenizer = storiesTokenizer();
    const pairs: DatasetRecord = {
      ...sftDataset(SECOND),
      method: 'dpo',
      format: 'preference',
      identical: 0,
      examples: Array.from({ length: N }, (_, i) => ({
        line: i + 1,
        example: { kind: 'text', prompt: `Setting: place ${i}.\n`, chosen: `A cat sat in place ${i}.`, rejected: `A dog ran in place ${i + 1}.` },
      })),
    };
    const dpo = prepareMethodData(pairs, tokenizer, { method: 'dpo', maxLength: 64, completionOnly: true, split: FIRST }) as { train: readonly TokenizedPair[]; eval: readonly TokenizedPair[] };
    expect(lines(dpo.eval)).toEqual(heldLines(FIRST));
    expect(lines(dpo.train).filter((l) => heldLines(FIRST).includes(l))).toEqual([]);

    const grpo = { numGenerations: 2, maxCompletionLength: 8, temperature: 1, topP: 1, topK: 0, stopStrings: [], beta: 0, numIterations: 1, epsilon: 0.2, epsilonHigh: 0.2 };
    const grpoSettings = { ...grpo, lossType: 'dapo' as const, scaleRewards: 'group' as const, maskTruncatedCompletions: false, rewards: [{ kind: 'length', name: 'len', weight: 1 }], rewardTimeLimitMs: 100 };
    const prompts = prepareMethodData(sftDataset(SECOND), tokenizer, { method: 'grpo', maxLength: 64, completionOnly: true, grpo: grpoSettings, split: FIRST }) as {
      train: readonly PromptExample[];
      eval: readonly PromptExample[];
    };
    expect(lines(prompts.train)).toHaveLength(N - heldLines(FIRST).length);
    expect(lines(prompts.train).filter((l) => heldLines(FIRST).includes(l))).toEqual([]);
  });
});

describe('a run saved before runs kept their split', () => {
  const legacyRun = (id: string, name: string, status: RunRecord['status']): RunRecord => {
    const { split: _none, ...old } = settings();
    return { id, name, createdAt: '2026-11-01T00:00:00.000Z', updatedAt: '2026-11-01T00:00:00.000Z', status, settings: old, step: 4, checkpointStep: 4 };
  };

  test("refuses a change of its dataset's split while it may resume, naming it, and keeps the saved split", async () => {
    const { datasets } = services();
    await putDataset(db!, sftDataset());
    await addRun(db!, legacyRun('old-1', 'old paused run', 'paused'));
    await addRun(db!, legacyRun('old-2', 'old finished run', 'completed'));
    await expect(datasets.setDatasetSplit('stories', SECOND)).rejects.toThrow(
      'The split of "stories" cannot change while the run "old paused run" may resume: it was started before runs kept their own split, so resuming would train on the examples held out so far. Stop or delete that run first, or import the file again as a new dataset with the split you want.',
    );
    expect((await getDataset(db!, 'stories')).split).toEqual(FIRST);

    // Stopped for good, it no longer holds the split.
    await updateRun(db!, 'old-1', (r) => ({ ...r, status: 'stopped' }));
    expect((await datasets.setDatasetSplit('stories', SECOND)).split).toEqual(SECOND);
    expect((await getDataset(db!, 'stories')).split).toEqual(SECOND);
  });
});
