// The pure parts of keeping runs in IndexedDB: the quota message and how a full quota is recognised,
// the step order of a run's curve, and which runs a vanished tab left behind.

import { afterEach, describe, expect, test, vi } from 'vitest';
import { inStepOrder } from '../../src/storage/metric-rows';
import { isQuotaExceeded, StorageFullError, storageFullMessage, withQuotaMessage } from '../../src/storage/quota';
import type { MetricRow, RunRecord, RunSettings } from '../../src/storage/records';
import { deviceLostMessage, interruptedMessage, orphanedRuns, resumeProblem, storageFullRunMessage } from '../../src/worker/run-status';

const step = (s: number): MetricRow => ({ runId: 'r', kind: 'step', step: s, loss: 1, lr: 1, grad_norm: 1, tokens: 1, trained_tokens: 1, tokens_per_s: 1, epoch: 0 });
const evalRow = (s: number): MetricRow => ({ runId: 'r', kind: 'eval', step: s, eval_loss: 1, eval_perplexity: 1, eval_tokens: 1, samples: [] });

const settings = (model: RunSettings['model'] = { kind: 'offline', id: 'stories260K' }): RunSettings => ({
  method: 'sft',
  model,
  modelName: 'stories260K',
  weightFormat: 'f16',
  datasetId: 'd',
  datasetName: 'stories',
  lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj'], useRslora: false },
  loop: {
    batchSize: 4,
    gradAccum: 1,
    steps: 40,
    lr: 1e-3,
    scheduler: 'linear',
    warmupSteps: 0,
    maxGradNorm: 1,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
    evalEvery: 10,
    saveEvery: 10,
    seed: 0,
  },
  maxLength: 64,
  completionOnly: true,
  checkpointEvery: 10,
});

const run = (id: string, status: RunRecord['status'], extra: Partial<RunRecord> = {}): RunRecord => ({
  id,
  name: `run ${id}`,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
  status,
  settings: settings(),
  step: 23,
  checkpointStep: 20,
  ...extra,
});

describe('storage quota', () => {
  afterEach(() => vi.unstubAllGlobals());

  test('recognises QuotaExceededError on the error, on an aborted transaction event and through StorageFullError', () => {
    expect(isQuotaExceeded(new DOMException('too big', 'QuotaExceededError'))).toBe(true);
    expect(isQuotaExceeded({ type: 'abort', target: { error: new DOMException('', 'QuotaExceededError') } })).toBe(true);
    expect(isQuotaExceeded(new StorageFullError('storage is full'))).toBe(true);
    expect(isQuotaExceeded(new DOMException('aborted', 'AbortError'))).toBe(false);
    expect(isQuotaExceeded(new Error('QuotaExceededError'))).toBe(false);
    expect(isQuotaExceeded(null)).toBe(false);
  });

  test('says how much is used of the quota, in MB', () => {
    expect(storageFullMessage({ usage: 52_428_800, quota: 53_000_000 })).toBe('storage is full: 52.4 MB used of 53 MB; delete old runs or adapters');
    expect(storageFullMessage({ usage: 1_234_567_890, quota: 2_000_000_000 })).toBe('storage is full: 1230 MB used of 2000 MB; delete old runs or adapters');
    expect(storageFullMessage(null)).toBe('storage is full; delete old runs or adapters');
  });

  test('turns a quota failure into StorageFullError with the estimate, and passes other errors through', async () => {
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 9_990_000, quota: 10_000_000 }) } });
    const full = withQuotaMessage(() => Promise.reject(new DOMException('', 'QuotaExceededError')));
    await expect(full).rejects.toThrow(StorageFullError);
    await expect(withQuotaMessage(() => Promise.reject(new DOMException('', 'QuotaExceededError')))).rejects.toThrow(
      'storage is full: 9.99 MB used of 10 MB; delete old runs or adapters',
    );
    const other = new TypeError('bad key');
    await expect(withQuotaMessage(() => Promise.reject(other))).rejects.toBe(other);
    expect(await withQuotaMessage(async () => 7)).toBe(7);
  });
});

describe('metric rows', () => {
  test('come out by step, the step row before the eval of the same step, eval at step 0 first', () => {
    // As IndexedDB returns them: by kind ('eval' < 'step'), then step.
    const stored = [evalRow(0), evalRow(10), evalRow(20), step(1), step(2), step(10), step(11), step(20)];
    expect(inStepOrder(stored).map((r) => `${r.kind}${r.step}`)).toEqual(['eval0', 'step1', 'step2', 'step10', 'eval10', 'step11', 'step20', 'eval20']);
  });
});

describe('run status', () => {
  test("a 'running' record whose lock nobody holds is orphaned; others are not", () => {
    const runs = [run('a', 'running'), run('b', 'running'), run('c', 'paused'), run('d', 'interrupted')];
    expect(orphanedRuns(runs, new Set(['b'])).map((r) => r.id)).toEqual(['a']);
    expect(orphanedRuns(runs, new Set(['a', 'b']))).toEqual([]);
  });

  test('an interrupted run says where it stopped and where it resumes', () => {
    expect(interruptedMessage(run('a', 'running'))).toBe(
      'Interrupted after step 23: the page was reloaded or closed, or its GPU device was lost. Resume continues from the checkpoint at step 20.',
    );
    expect(interruptedMessage(run('a', 'running', { step: 4, checkpointStep: 0 }))).toMatch(/after step 4: .*continues from the start \(no checkpoint was saved yet\)\.$/);
    const picked = run('a', 'running', { settings: settings({ kind: 'files', source: 'stories260K (picked folder)' }) });
    expect(interruptedMessage(picked)).toMatch(/Trained on picked files \(stories260K \(picked folder\)\): to resume after a reload, load the same files on the Model page first\.$/);
    expect(deviceLostMessage(run('a', 'running'), 'The GPU device was lost (unknown): gone.')).toBe(
      'The GPU device was lost (unknown): gone. Interrupted after step 23; reload the page and resume from the checkpoint at step 20.',
    );
    expect(storageFullRunMessage(run('a', 'running'), 'storage is full: 5 MB used of 5 MB; delete old runs or adapters')).toBe(
      'Storage is full: 5 MB used of 5 MB; delete old runs or adapters. The run is paused; it resumes from the checkpoint at step 20.',
    );
  });

  test('resume: refused in another tab, for a completed or stopped run; allowed when paused, interrupted, failed or orphaned', () => {
    expect(resumeProblem(run('a', 'paused'), true)).toMatch(/^this run is running in another tab/);
    expect(resumeProblem(run('a', 'completed'), false)).toBe('The run "run a" has completed all 40 steps.');
    expect(resumeProblem(run('a', 'stopped'), false)).toMatch(/was stopped for good/);
    for (const status of ['paused', 'interrupted', 'failed', 'running'] as const) expect(resumeProblem(run('a', status), false)).toBeNull();
  });
});
