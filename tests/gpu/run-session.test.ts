// A studio training run (TrainingRun, the worker's loop with its bookkeeping) on the real GPU engine with
// stories260K, its IndexedDB writes replaced by an in-memory store that can refuse writes the way a full
// quota does:
// - a run paused mid-way writes a checkpoint there; resumed from it, it redoes nothing and its remaining
//   losses equal those of the same run trained without a pause; evaluations carry greedy samples made with
//   the adapter, which is detached again afterwards;
// - a checkpoint refused for quota pauses the run with the numbers, the previous checkpoint kept intact,
//   for an SFT run and for a DPO run (whose reference log-probabilities are precomputed first, and whose
//   step 1 is exactly log 2 with zero margins);
// - DPO from a saved adapter trains a copy of it against it, frozen: step 1 is again log 2, which it is not
//   with the base as the reference;
// - an update that leaves a non-finite value fails the run at that step, naming the tensor, with no
//   checkpoint of it (a non-finite loss or gradient norm is covered on the CPU in train-loop.test.ts);
// - a database upgraded by a newer Tunelab in another tab pauses the run at its last stored checkpoint, with
//   nothing more written and "reload to continue";
// - a lost device (destroy()) leaves the run interrupted with the device's message.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { detectFormat } from '../../src/engine/data/detect';
import { toPreferenceDataset } from '../../src/engine/data/preference-examples';
import { parseRecords } from '../../src/engine/data/read-records';
import { toSftDataset } from '../../src/engine/data/sft-examples';
import { acquireGpu, type GpuContext } from '../../src/engine/gpu/context';
import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { readCheckpoint } from '../../src/engine/train/checkpoint';
import { Rng } from '../../src/engine/util/rng';
import { nodeGpu } from '../../src/node/node-gpu';
import type { DatasetRecord, MetricRow, RunRecord, RunSettings, StoredPreferenceSettings } from '../../src/storage/records';
import type { ActiveModel } from '../../src/worker/model-session';
import type { RunEvent } from '../../src/worker/protocol-runs';
import type { LoadedModelInfo } from '../../src/worker/protocol';
import { policyStart } from '../../src/worker/run-adapters';
import { prepareRunData, type RunData } from '../../src/worker/run-data';
import { TrainingRun } from '../../src/worker/run-session';
import { RunSuites } from '../../src/worker/run-suites';
import { readSuiteFiles } from '../../src/worker/eval-suite-read';
import { engineSuite, suiteRecord } from '../../src/worker/eval-suite-records';
import { runSuite } from '../../src/engine/eval/run-suite';
import { testGpu } from '../helpers/gpu';
import { storiesTokenizer } from '../helpers/stories-tokenizer';
import { loadModel, STORIES260K_DIR, type LoadedModel } from '../helpers/tiny-models';
import { MemoryStore } from '../helpers/memory-run-store';
import { sftRunSettings } from '../helpers/run-settings';

const SAMPLE = resolve(__dirname, '../../public/datasets/stories-setting/train.jsonl');
const ARC_EASY = resolve(__dirname, '../../../shared/assets/datasets/arc/ARC-Easy-test.jsonl');
const PAIRS = resolve(__dirname, '../../public/datasets/stories-preference/train.jsonl');

function sampleDataset(): DatasetRecord {
  const sft = toSftDataset(detectFormat(parseRecords(new Uint8Array(readFileSync(SAMPLE)), 'train.jsonl'), 'sft'));
  return { id: 'd', name: 'stories', source: 'train.jsonl', createdAt: '', method: 'sft', format: sft.format, examples: sft.examples, skipped: [], split: { evalFraction: 0.02, seed: 0 } };
}

/** The first 60 sample pairs (a precomputed reference scores every one of them before the first step). */
function preferenceDataset(): DatasetRecord {
  const pairs = toPreferenceDataset(detectFormat(parseRecords(new Uint8Array(readFileSync(PAIRS)), 'train.jsonl'), 'dpo'));
  const examples = pairs.examples.slice(0, 60);
  return { id: 'p', name: 'pairs', source: 'train.jsonl', createdAt: '', method: 'dpo', format: pairs.format, examples, skipped: [], identical: 0, split: { evalFraction: 0.05, seed: 0 } };
}

const DPO: StoredPreferenceSettings = { beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0, simpoGamma: 0.5, orpoLambda: 0.1, maxPromptLength: 16, precomputeRef: false };

/** A DPO run of the same loop on the sample pairs. */
function dpoSettings(steps: number, checkpointEvery: number, preference: Partial<StoredPreferenceSettings> = {}): RunSettings {
  return { ...settings(steps, checkpointEvery, 0), method: 'dpo', datasetId: 'p', datasetName: 'pairs', preference: { ...DPO, ...preference } };
}

const settings = (steps: number, checkpointEvery: number, evalEvery: number): RunSettings => sftRunSettings(steps, checkpointEvery, evalEvery);

describe('TrainingRun on the GPU', () => {
  let ctx: GpuContext;
  let disk: LoadedModel;
  let data: RunData;
  const tokenizer = storiesTokenizer();
  const released: string[] = [];

  const activeModel = async (on: GpuContext): Promise<ActiveModel> => ({
    model: await GpuCausalLm.create(on, disk.config, disk.weights, { weightFormat: 'f32' }),
    tokenizer,
    config: disk.config,
    layout: disk.weights,
    request: { kind: 'offline', id: 'stories260K' },
    info: { source: 'stories260K' } as LoadedModelInfo,
    sources: { config: disk.config },
  });

  /** Starts a run (fresh, or from a stored checkpoint) whose events land in `events`. */
  async function start(
    store: MemoryStore,
    model: ActiveModel,
    run: RunRecord,
    events: RunEvent[],
    onStep?: (step: number, training: TrainingRun) => void,
    from: { data?: RunData; reference?: LoraAdapter; adapter?: LoraAdapter; suites?: RunSuites; storageUpgraded?: Promise<void> } = {},
  ) {
    store.runs.set(run.id, run);
    const plan = planAdapter(disk.config.architecture, disk.weights, run.settings.lora);
    const stored = store.checkpoints.get(run.id);
    const resume = stored ? readCheckpoint(stored.bytes, plan) : undefined;
    const adapter = resume?.adapter ?? from.adapter ?? policyStart(run.settings, model, from.reference);
    let training: TrainingRun | null = null;
    const listener = (e: RunEvent) => {
      events.push(e);
      if (e.kind === 'metric' && e.row.kind === 'step' && training) onStep?.(e.row.step, training);
    };
    training = await TrainingRun.start({
      store,
      run,
      model,
      tokenizer,
      data: from.data ?? data,
      adapter,
      reference: from.reference,
      suites: from.suites,
      storageUpgraded: from.storageUpgraded,
      resume,
      lock: { release: () => released.push(`lock ${run.id}`) },
      claim: { release: () => released.push(`model ${run.id}`) },
      listener,
    });
    return training;
  }

  const record = (id: string, s: RunSettings): RunRecord => ({ id, name: id, createdAt: '', updatedAt: '', status: 'running', settings: s, step: 0, checkpointStep: 0 });

  beforeAll(async () => {
    ctx = await testGpu();
    disk = await loadModel(STORIES260K_DIR);
    data = prepareRunData(sampleDataset(), tokenizer, { method: 'sft', maxLength: 64, completionOnly: true });
  });

  afterEach(() => vi.unstubAllGlobals());

  it('pauses with a checkpoint and resumes it to the same losses as an uninterrupted run; evaluations carry adapter samples', async () => {
    const model = await activeModel(ctx);
    const s = settings(6, 2, 3);
    const store = new MemoryStore();

    const straightEvents: RunEvent[] = [];
    const straight = await (await start(store, model, record('straight', s), straightEvents)).done;
    expect(straight.status).toBe('completed');
    expect(straight.step).toBe(6);
    expect(store.checkpoints.get('straight')?.step).toBe(6);
    const evals = store.rows.filter((r) => r.runId === 'straight' && r.kind === 'eval');
    expect(evals.map((r) => r.step)).toEqual([0, 3, 6]);
    for (const e of evals) {
      if (e.kind !== 'eval') continue;
      expect(e.samples).toHaveLength(2);
      // Greedy text after a "Setting: ..." prompt: stories260K writes a story opening.
      for (const sample of e.samples) {
        expect(sample.prompt).toMatch(/^Setting: .+\.\n$/);
        expect(sample.text.length).toBeGreaterThan(10);
      }
    }
    expect(model.model.adapter).toBeNull();
    // Every row reached the page, then the final status; an ETA once a pace was measured.
    expect(straightEvents.filter((e) => e.kind === 'metric')).toHaveLength(9);
    expect(straightEvents.at(-1)).toMatchObject({ kind: 'status', run: { status: 'completed', step: 6, checkpointStep: 6 } });
    const eta = straightEvents.find((e) => e.kind === 'eta');
    expect(eta).toMatchObject({ kind: 'eta', totalSteps: 6 });
    expect(released).toEqual(['model straight', 'lock straight']);

    // The same run, paused after step 3 (between checkpoints): the pause writes a checkpoint at 3.
    const events: RunEvent[] = [];
    const paused = await (await start(store, model, record('paused', s), events, (step, run) => step === 3 && void run.pause())).done;
    expect(paused).toMatchObject({ status: 'paused', step: 3, checkpointStep: 3 });
    expect(store.checkpoints.get('paused')?.step).toBe(3);

    // Resumed from that checkpoint: steps 4..6, each once, with the uninterrupted run's losses.
    const resumed = await (await start(store, model, { ...paused, status: 'running' }, events)).done;
    expect(resumed).toMatchObject({ status: 'completed', step: 6, checkpointStep: 6 });
    const want = store.stepLosses('straight');
    const got = store.stepLosses('paused');
    expect([...got.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const [step, loss] of want) expect(Math.abs(got.get(step)! - loss), `step ${step}`).toBeLessThan(1e-5);
    model.model.dispose();
  });

  it('a checkpoint refused for quota pauses the run with the numbers and keeps the previous checkpoint', async () => {
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 52_400_000, quota: 52_428_800 }) } });
    const model = await activeModel(ctx);
    const store = new MemoryStore();
    store.refuse = (what, step) => what === 'checkpoint' && step >= 8;
    const events: RunEvent[] = [];
    released.length = 0;
    const done = await (await start(store, model, record('full', settings(12, 4, 0)), events)).done;
    expect(done.status).toBe('paused');
    expect(done.message).toBe('Storage is full: 52.4 MB used of 52.4 MB; delete old runs or adapters. The run is paused; it resumes from the checkpoint at step 4.');
    expect(done.checkpointStep).toBe(4);
    // Rows went on to step 8; the checkpoint of step 4 is there and reads back.
    expect(done.step).toBe(8);
    const kept = store.checkpoints.get('full')!;
    expect(kept.step).toBe(4);
    expect(readCheckpoint(kept.bytes, planAdapter(disk.config.architecture, disk.weights, done.settings.lora)).step).toBe(4);
    expect(store.runs.get('full')).toEqual(done);
    expect(events.at(-1)).toEqual({ kind: 'status', run: done });
    expect(released).toEqual(['model full', 'lock full']);
    model.model.dispose();
  });

  it('DPO: a checkpoint refused for quota pauses the run as for SFT; the reference is precomputed first, step 1 is log 2', async () => {
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 52_400_000, quota: 52_428_800 }) } });
    const model = await activeModel(ctx);
    const store = new MemoryStore();
    store.refuse = (what, step) => what === 'checkpoint' && step >= 8;
    const s = dpoSettings(12, 4, { precomputeRef: true });
    const pairs = prepareRunData(preferenceDataset(), tokenizer, s);
    const events: RunEvent[] = [];
    released.length = 0;
    const done = await (await start(store, model, record('dpo-full', s), events, undefined, { data: pairs })).done;
    expect(done.status).toBe('paused');
    expect(done.message).toBe('Storage is full: 52.4 MB used of 52.4 MB; delete old runs or adapters. The run is paused; it resumes from the checkpoint at step 4.');
    expect(done).toMatchObject({ step: 8, checkpointStep: 4 });
    const kept = store.checkpoints.get('dpo-full')!;
    expect(readCheckpoint(kept.bytes, planAdapter(disk.config.architecture, disk.weights, done.settings.lora)).step).toBe(4);
    expect(store.runs.get('dpo-full')).toEqual(done);
    expect(events.at(-1)).toEqual({ kind: 'status', run: done });
    expect(released).toEqual(['model dpo-full', 'lock dpo-full']);

    // The reference pass over every train and eval pair came before the first step, and reached its end.
    const total = pairs.train.length + pairs.eval.length;
    const reference = events.filter((e) => e.kind === 'reference');
    expect(reference.length).toBeGreaterThan(1);
    expect(reference.at(-1)).toEqual({ kind: 'reference', runId: 'dpo-full', done: total, total });
    expect(events.findIndex((e) => e.kind === 'metric')).toBeGreaterThan(events.lastIndexOf(reference.at(-1)!));
    // A fresh adapter is the reference: log 2 and zero rewards at step 1; the rows carry TRL's metrics.
    const rows = store.rows.filter((r) => r.runId === 'dpo-full' && r.kind === 'step');
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const first = rows[0];
    if (first.kind !== 'step') throw new Error('not a step row');
    expect(first.loss).toBeCloseTo(Math.LN2, 12);
    expect(first.objective).toMatchObject({ 'rewards/margins': 0, 'rewards/chosen': 0, 'rewards/rejected': 0, 'rewards/accuracies': 0 });
    expect(Object.keys(first.objective ?? {})).toEqual(expect.arrayContaining(['logps/chosen', 'logps/rejected']));
    model.model.dispose();
  });

  it('DPO from a saved adapter trains a copy of it against it, frozen: step 1 is log 2, unlike against the base', async () => {
    const model = await activeModel(ctx);
    const s = dpoSettings(1, 0);
    const pairs = prepareRunData(preferenceDataset(), tokenizer, s);
    // A trained-looking adapter: B is not zero, so it changes the model's log-probabilities.
    const saved = initAdapter(planAdapter(disk.config.architecture, disk.weights, s.lora), new Rng(7));
    const rng = new Rng(8);
    for (const m of saved.modules) m.b.forEach((_, i) => (m.b[i] = rng.uniform(-0.2, 0.2)));
    const policy = policyStart(s, model, saved);
    expect(policy.modules[0].b).toEqual(saved.modules[0].b);
    expect(policy.modules[0].b).not.toBe(saved.modules[0].b);
    const store = new MemoryStore();
    const firstLoss = async (id: string, from: { reference?: LoraAdapter; adapter?: LoraAdapter }) => {
      const run = await (await start(store, model, record(id, { ...s, initAdapter: { id: 'a', name: 'sft adapter' } }), [], undefined, { data: pairs, ...from })).done;
      expect(run.status).toBe('completed');
      return store.stepLosses(id).get(1)!;
    };
    expect(await firstLoss('from-adapter', { reference: saved })).toBeCloseTo(Math.LN2, 12);
    // The same starting point measured against the base model: the adapter's own shift shows.
    const againstBase = await firstLoss('base-reference', { adapter: policyStart(s, model, saved) });
    expect(Math.abs(againstBase - Math.LN2)).toBeGreaterThan(1e-3);
    model.model.dispose();
  });

  it('an update that leaves a non-finite value fails the run at that step, naming the tensor, with no checkpoint of it', async () => {
    const model = await activeModel(ctx);
    const store = new MemoryStore();
    const s = settings(6, 1, 0);
    // An absurd learning rate: Adam's first step moves each LoRA B entry by the rate itself (m/sqrt(v) = ±1), so
    // B sits at float32's edge, and the update leaves non-finite values in the adapter (here A's NaN): step 1's
    // own loss (before the update) is finite and logged, its checkpoint is refused. Before the rule, this
    // checkpoint was kept as "the last good" one.
    const run = record('nan', { ...s, loop: { ...s.loop, lr: 3e38, scheduler: 'constant', maxGradNorm: 0 } });
    const events: RunEvent[] = [];
    const done = await (await start(store, model, run, events)).done;
    expect(done.status).toBe('failed');
    expect(done.message).toMatch(
      /^Training stopped at step 1: the value \d+ of tensor "model\.layers\.\d+\.self_attn\.(q|v)_proj\.(A|B)(\.exp_avg|\.exp_avg_sq)?" is (NaN|Infinity|-Infinity) \(not a finite number\), so the adapter can no longer be trusted; no checkpoint had been written yet\./,
    );
    expect(done.step).toBe(1);
    expect(done.checkpointStep).toBe(0);
    expect(store.checkpoints.has('nan')).toBe(false);
    expect([...store.stepLosses('nan').keys()]).toEqual([1]);
    expect(Number.isFinite(store.stepLosses('nan').get(1))).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: 'status', run: { status: 'failed' } });
    model.model.dispose();
  });

  it('attached eval suites: scored at each evaluation on the adapter (a fresh one scores as the base), compared with the base when the run completes', async () => {
    const model = await activeModel(ctx);
    const store = new MemoryStore();
    const events: RunEvent[] = [];
    const arc = suiteRecord(readSuiteFiles([{ name: 'ARC-Easy-test.jsonl', bytes: new Uint8Array(readFileSync(ARC_EASY)) }], 'auto'), { id: 'arc', name: 'ARC-Easy', createdAt: 0 });
    const stories = readFileSync(SAMPLE, 'utf8').trim().split('\n').slice(0, 3).map((l) => JSON.stringify({ text: (JSON.parse(l) as { completion: string }).completion }));
    const general = suiteRecord(readSuiteFiles([{ name: 'general.jsonl', bytes: new TextEncoder().encode(stories.join('\n')) }], 'retention'), { id: 'general', name: 'general stories', createdAt: 0 });
    const attached = [{ id: 'arc', name: 'ARC-Easy', limit: 3 }, { id: 'general', name: 'general stories', limit: 3 }];
    const suites = RunSuites.fromRecords([arc, general], attached, 5, () => {
      throw new Error('these suites run no code');
    });
    const s: RunSettings = { ...settings(2, 2, 2), evalSuites: attached };
    const done = await (await start(store, model, record('suites', s), events, undefined, { suites })).done;
    expect(done.status).toBe('completed');
    expect(model.model.adapter).toBeNull();

    const evals = store.rows.filter((r): r is Extract<MetricRow, { kind: 'eval' }> => r.runId === 'suites' && r.kind === 'eval');
    expect(evals.map((r) => r.step)).toEqual([0, 2]);
    for (const e of evals) expect(e.suites?.map((x) => x.suiteName)).toEqual(['ARC-Easy', 'general stories']);
    // The same suites scored independently on the base model: a fresh adapter (B = 0) gives exactly its numbers.
    const base = [];
    for (const record of [arc, general]) {
      const suite = engineSuite(record, { shots: 0, seed: 5, limit: attached.find((a) => a.id === record.id)!.limit });
      base.push((await runSuite(suite.spec, suite.items as never[], { lm: model.model, tokenizer }, { batchSize: 8, seed: 0 })).scores);
    }
    expect(evals[0].suites!.map((x) => x.scores)).toEqual(base);
    expect(Object.keys(base[0])).toEqual(expect.arrayContaining(['acc,none', 'acc_norm,none']));
    const ppl = Object.keys(base[1]).find((k) => k.startsWith('perplexity'))!;
    // Training moved the adapter: the general text's perplexity at step 2 is not the base's.
    expect(evals[1].suites![1].scores[ppl].value).not.toBe(base[1][ppl].value);

    // At the end: the base evaluated again against the last evaluation, metric by metric.
    expect(events.some((e) => e.kind === 'suites' && e.phase === 'comparing')).toBe(true);
    const cmp = done.suiteComparison!;
    expect(cmp.message).toBeUndefined();
    expect(cmp.step).toBe(2);
    expect(cmp.base.map((x) => x.scores)).toEqual(base);
    expect(cmp.adapted).toEqual(evals[1].suites);
    const metrics = cmp.base.flatMap((x) => Object.keys(x.scores).map((m) => `${x.suiteId}:${m}`));
    expect(cmp.comparisons.map((c) => `${c.suiteId}:${c.metric}`).sort()).toEqual(metrics.sort());
    for (const c of cmp.comparisons) {
      expect(c.target).toBe(1);
      expect(c.difference).toBeCloseTo(c.adapted.value - c.base.value, 12);
      expect(c.significant).toBe(c.stderr !== undefined && Math.abs(c.difference) > 2 * c.stderr);
    }
    const forgetting = cmp.forgetting.find((f) => f.metric === ppl)!;
    expect(forgetting.suiteId).toBe('general');
    expect(forgetting.difference).toBeCloseTo(evals[1].suites![1].scores[ppl].value - base[1][ppl].value, 9);
    expect(forgetting.stderr).toBeGreaterThan(0);
    expect(store.runs.get('suites')?.suiteComparison).toEqual(cmp);
    model.model.dispose();
  });

  it('a database upgraded by another tab pauses the run at its last stored checkpoint, writing nothing more: "reload to continue"', async () => {
    const model = await activeModel(ctx);
    const store = new MemoryStore();
    const events: RunEvent[] = [];
    let upgrade!: () => void;
    const storageUpgraded = new Promise<void>((resolve) => (upgrade = resolve));
    let upgraded = false;
    const writesAfter: string[] = [];
    store.refuse = (what, step) => {
      if (upgraded) writesAfter.push(`${what} ${step}`);
      return false;
    };
    // The other tab upgrades once step 3 is stored (checkpoints every 2 steps: the last one is step 2's).
    const onStep = (step: number) => {
      if (step !== 3) return;
      upgraded = true;
      upgrade();
    };
    const done = await (await start(store, model, record('upgraded', settings(50, 2, 0)), events, onStep, { storageUpgraded })).done;
    expect(done.status).toBe('paused');
    expect(done.message).toBe('Tunelab was updated in another tab — reload to continue. The run is paused after step 3; after the reload, resume continues from the checkpoint at step 2.');
    expect(writesAfter).toEqual([]);
    expect(store.checkpoints.get('upgraded')?.step).toBe(2);
    expect([...store.stepLosses('upgraded').keys()]).toEqual([1, 2, 3]);
    // Stored as it was: 'running', which reads 'interrupted' after the reload (no tab holds its lock).
    expect(store.runs.get('upgraded')).toMatchObject({ status: 'running', step: 3, checkpointStep: 2 });
    expect(events.at(-1)).toMatchObject({ kind: 'status', run: { status: 'paused', message: done.message } });
    expect(released.slice(-2)).toEqual(['model upgraded', 'lock upgraded']);
    model.model.dispose();
  });

  it('a lost device interrupts the run with the device message', async () => {
    const own = await acquireGpu(nodeGpu());
    const model = await activeModel(own);
    const store = new MemoryStore();
    const events: RunEvent[] = [];
    const done = await (await start(store, model, record('lost', settings(50, 20, 0)), events, (step) => step === 2 && own.device.destroy())).done;
    expect(done.status).toBe('interrupted');
    expect(done.message).toMatch(/^The GPU device was lost \(destroyed\): [\s\S]* Interrupted after step [23]; reload the page and resume from the start \(no checkpoint was saved yet\)\.$/);
    expect(store.runs.get('lost')?.status).toBe('interrupted');
    expect(events.at(-1)).toMatchObject({ kind: 'status', run: { status: 'interrupted' } });
  });
});
