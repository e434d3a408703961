// The Train page's calls (RunsApi): start, pause, resume and stop training runs (SFT, DPO, SimPO, ORPO, GRPO;
// fresh or from a saved adapter) on the loaded model, list them with their curves, save a run's adapter, and
// test GRPO reward functions on a few samples. One
// run trains at a time in a worker; a run belongs to the tab that holds its Web Lock, and a record left
// 'running' by a tab that is gone reads 'interrupted'.

import { planAdapter, type LoraAdapter } from '../engine/lora/adapter';
import { adapterConfigJson, adapterWeightsBytes } from '../engine/lora/peft-files';
import { missingTokenizerError, type ModelTokenizer } from '../engine/model/tokenizer';
import type { TrainCheckpoint } from '../engine/train/checkpoint';
import { DatasetNotFoundError, getDataset } from '../storage/datasets-store';
import type { AdapterRecord, DatasetRecord, RunRecord, RunSettings } from '../storage/records';
import {
  addRun,
  allRuns,
  deleteRunData,
  getRun,
  rewindRun,
  runRows,
  runWriter,
  saveRunAdapter,
  updateRun,
} from '../storage/runs-store';
import type { ActiveModel } from './model-session';
import type { RunListener, RunsApi } from './protocol-runs';
import { releaseCallback } from './release-callback';
import { policyStart, referenceRecord, savedStartingAdapter, storedReference } from './run-adapters';
import { isGrpoData, prepareMethodData, type MethodRunData } from './run-data';
import { runRewardTest } from './run-reward-test';
import { openRewardSet, type OpenRewardSet } from './run-rewards';
import { lockedRunIds, tryLockRun, type RunLock } from './run-lock';
import { describeRef, modelName, modelRefOf, requestOf, sameModel } from './run-model-ref';
import { fallbackNote, resumeCheckpoint, type ResumeCheckpoint } from './run-resume';
import { TrainingRun } from './run-session';
import { filesNote, interruptedMessage, orphanedRuns, OTHER_TAB_MESSAGE, resumeProblem } from './run-status';
import { RunSuites } from './run-suites';
import type { WorkerDeps } from './worker-deps';
import type { CodeSandbox } from '../engine/eval/sandbox';

const nowIso = () => new Date().toISOString();

/** `sandbox` starts the code sandbox for attached suites that run code (custom metrics, HumanEval). */
export function createRunsService(deps: WorkerDeps, sandbox: () => CodeSandbox): RunsApi {
  /** The run training in this worker, if any. */
  let current: TrainingRun | null = null;
  /** A start or resume between its checks and its first step (so two cannot race). */
  let starting = false;

  function requireModel(): ActiveModel {
    const active = deps.models.active;
    if (!active) throw new Error('No model is loaded: load one on the Model page first.');
    return active;
  }

  function live(runId: string): TrainingRun | null {
    return current?.id === runId ? current : null;
  }

  async function lockedElsewhere(runId: string): Promise<boolean> {
    return !live(runId) && (await lockedRunIds()).has(runId);
  }

  /** The run's model, loading it first when another one (or none) is loaded. */
  async function modelFor(settings: RunSettings): Promise<ActiveModel> {
    const active = deps.models.active;
    if (active && sameModel(modelRefOf(active), settings.model)) return active;
    const request = requestOf(settings.model);
    if (!request) throw new Error(`This run trained ${describeRef(settings.model)}: load it on the Model page first, then resume.`);
    await deps.models.load(request, settings.weightFormat, () => undefined);
    return requireModel();
  }

  /** The run's adapter planned on `model`, filled from its newest usable checkpoint when it has one. */
  async function checkpointOf(run: RunRecord, model: ActiveModel): Promise<ResumeCheckpoint | undefined> {
    return resumeCheckpoint(await deps.db(), run, () => planAdapter(model.config.architecture, model.layout, run.settings.lora));
  }

  /** What a run is prepared with before it starts; `rewards` (GRPO) is the caller's to dispose until the run owns it. */
  interface Prepared {
    data: MethodRunData;
    tokenizer: ModelTokenizer;
    suites: RunSuites;
    rewards?: OpenRewardSet;
  }

  /** The run's saved dataset, or why it is gone. */
  async function runDataset(settings: RunSettings): Promise<DatasetRecord> {
    return getDataset(await deps.db(), settings.datasetId).catch((err: unknown) => {
      if (!(err instanceof DatasetNotFoundError)) throw err;
      throw new Error(`The dataset "${settings.datasetName}" of this run is no longer saved: import it again and start a new run.`);
    });
  }

  /**
   * The run's dataset, split as its settings say and tokenized for `model`, its attached eval suites and
   * (GRPO) its reward functions, compiled (checked before anything is stored or changed). `resuming`: an
   * attached suite deleted since is left out rather than refused.
   */
  async function dataFor(settings: RunSettings, dataset: DatasetRecord, model: ActiveModel, resuming = false): Promise<Prepared> {
    const tokenizer = model.tokenizer;
    if (!tokenizer) throw missingTokenizerError(model.info.source);
    const data = prepareMethodData(dataset, tokenizer, settings);
    const suites = await RunSuites.load(await deps.db(), settings.evalSuites ?? [], settings.loop.seed, sandbox, !resuming);
    const grpo = settings.grpo;
    if (!isGrpoData(data) || !grpo) return { data, tokenizer, suites };
    return { data, tokenizer, suites, rewards: await openRewardSet(grpo.rewards, grpo.rewardTimeLimitMs, sandbox) };
  }

  /** What a run trains from: its policy's adapter (fresh, the starting adapter's copy, or the checkpoint's) and its reference. */
  interface Start {
    adapter: LoraAdapter;
    reference: LoraAdapter | undefined;
    resume: TrainCheckpoint | undefined;
  }

  /** Starts the loop on a record stored as 'running' under `lock` (TrainingRun.start releases both on failure). */
  async function launch(run: RunRecord, model: ActiveModel, prepared: Prepared, start: Start, lock: RunLock, listener: RunListener): Promise<RunRecord> {
    const store = runWriter(await deps.db());
    const claim = deps.models.claim(`The run "${run.name}" is training on this model: pause or stop it first.`);
    const started = await TrainingRun.start({ store, run, model, ...prepared, ...start, lock, claim, listener, storageUpgraded: deps.storageUpgraded });
    current = started;
    void started.done.finally(() => {
      if (current === started) current = null;
    });
    return started.run;
  }

  /** Runs `body` with what dataFor prepared; if it fails, the reward functions (GRPO) are freed. */
  async function owning<T>(prepared: Prepared, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      prepared.rewards?.dispose();
      throw err;
    }
  }

  /**
   * Runs a start or resume: one at a time, none while a run trains here. If it fails, the page's listener
   * is released (a run that started releases it when it ends).
   */
  async function exclusive<T>(listener: RunListener, body: () => Promise<T>): Promise<T> {
    try {
      if (current) throw new Error(`The run "${current.run.name}" is training in this tab: pause or stop it first.`);
      if (starting) throw new Error('A run is starting in this tab: wait a moment.');
      starting = true;
      try {
        // The first run on a device with no stored matmul tuning measures it first (once per worker).
        await deps.matmulTuning.ensure();
        return await body();
      } finally {
        starting = false;
      }
    } catch (err) {
      releaseCallback(listener);
      throw err;
    }
  }

  return {
    startRun(name, settings, listener) {
      return exclusive(listener, async () => {
        const model = requireModel();
        const ref = modelRefOf(model);
        const db = await deps.db();
        // The starting adapter, data and LoRA plan are checked before anything is stored, so a bad start leaves no record.
        const from = settings.initAdapter ? await savedStartingAdapter(db, settings.initAdapter, model) : undefined;
        const dataset = await runDataset(settings);
        const full: RunSettings = {
          ...settings,
          model: ref,
          modelName: modelName(ref, model.info.source),
          weightFormat: model.info.weightFormat,
          // The run keeps the dataset's split as it is now: its resumes hold out the same examples whatever the
          // dataset's split becomes.
          split: { evalFraction: dataset.split.evalFraction, seed: dataset.split.seed },
          // A run from a saved adapter trains that adapter's modules, rank and scale (the dropout is the run's).
          ...(from && {
            lora: { ...from.adapter.config, targets: [...from.adapter.config.targets], dropout: settings.lora.dropout },
            initAdapter: { id: from.record.id, name: from.record.name },
          }),
        };
        const prepared = await dataFor(full, dataset, model);
        return owning(prepared, async () => {
          const reference = from?.adapter;
          const adapter = policyStart(full, model, reference);
          const id = crypto.randomUUID();
          const lock = await tryLockRun(id);
          if (!lock) throw new Error(`The new run's id ${id} is locked by another tab (this should never happen): start it again.`);
          try {
            const createdAt = nowIso();
            const run: RunRecord = {
              id,
              name: name.trim() || `${full.datasetName} on ${full.modelName}`,
              createdAt,
              updatedAt: createdAt,
              status: 'running',
              settings: full,
              step: 0,
              checkpointStep: 0,
            };
            const note = filesNote(run);
            if (note) run.message = note;
            await addRun(db, run, from && referenceRecord(id, from));
            return await launch(run, model, prepared, { adapter, reference, resume: undefined }, lock, listener);
          } catch (err) {
            lock.release();
            await deleteRunData(await deps.db(), id).catch(() => undefined);
            throw err;
          }
        });
      });
    },

    async pauseRun(runId) {
      const run = live(runId);
      if (run) {
        await run.pause();
        return;
      }
      if (await lockedElsewhere(runId)) throw new Error(`${OTHER_TAB_MESSAGE}: pause it there.`);
    },

    resumeRun(runId, listener) {
      return exclusive(listener, async () => {
        const db = await deps.db();
        const stored = await getRun(db, runId);
        const problem = resumeProblem(stored, await lockedElsewhere(runId));
        if (problem) throw new Error(problem);
        const lock = await tryLockRun(runId);
        if (!lock) throw new Error(`${OTHER_TAB_MESSAGE}: pause it there, or close that tab, before resuming it here.`);
        try {
          const model = await modelFor(stored.settings);
          const prepared = await dataFor(stored.settings, await runDataset(stored.settings), model, true);
          return await owning(prepared, async () => {
            const reference = await storedReference(db, stored, model);
            const found = await checkpointOf(stored, model);
            const resume = found?.checkpoint;
            const adapter = resume?.adapter ?? policyStart(stored.settings, model, reference);
            const from = resume?.step ?? 0;
            if (from >= stored.settings.loop.steps) {
              // Interrupted between its last checkpoint and its last status: nothing is left to train.
              prepared.rewards?.dispose();
              const completed = await rewindRun(db, runId, from, (r) => ({ ...r, status: 'completed', step: from, message: undefined, updatedAt: nowIso() }));
              lock.release();
              releaseCallback(listener);
              return completed;
            }
            // The steps after the checkpoint are trained again: their rows go, so the curve has each step once.
            // So do the latest rollouts when a step after the checkpoint sampled them (they come again), and a
            // newer checkpoint that could not be used.
            const note = [fallbackNote(found), filesNote(stored)].filter(Boolean).join(' ') || undefined;
            const run = await rewindRun(db, runId, from, ({ rollouts, ...r }) => ({
              ...r,
              ...(rollouts && rollouts.step <= from ? { rollouts } : {}),
              status: 'running',
              step: from,
              checkpointStep: from,
              message: note,
              updatedAt: nowIso(),
            }));
            return await launch(run, model, prepared, { adapter, reference, resume }, lock, listener);
          });
        } catch (err) {
          lock.release();
          throw err;
        }
      });
    },

    async stopRun(runId) {
      const run = live(runId);
      if (run) {
        await run.stop();
        return;
      }
      if (await lockedElsewhere(runId)) throw new Error(`${OTHER_TAB_MESSAGE}: stop it there.`);
      const db = await deps.db();
      const stored = await getRun(db, runId);
      if (stored.status === 'completed' || stored.status === 'stopped') return;
      await updateRun(db, runId, (r) => ({ ...r, status: 'stopped', updatedAt: nowIso() }));
    },

    async listRuns() {
      const db = await deps.db();
      const runs = await allRuns(db);
      const orphans = orphanedRuns(runs, await lockedRunIds());
      if (orphans.length === 0) return runs;
      const marked = new Map<string, RunRecord>();
      for (const run of orphans) {
        const change = (r: RunRecord): RunRecord =>
          r.status === 'running' ? { ...r, status: 'interrupted', message: interruptedMessage(r), updatedAt: nowIso() } : r;
        // Unsaved (a full quota) it still reads as interrupted now, and is marked again next time.
        marked.set(run.id, await updateRun(db, run.id, change).catch(() => change(run)));
      }
      return runs.map((r) => marked.get(r.id) ?? r);
    },

    async runMetrics(runId) {
      return runRows(await deps.db(), runId);
    },

    async renameRun(runId, name) {
      const trimmed = name.trim();
      if (!trimmed) throw new Error('A run needs a name.');
      await updateRun(await deps.db(), runId, (r) => ({ ...r, name: trimmed, updatedAt: nowIso() }));
    },

    async deleteRun(runId) {
      const run = live(runId);
      if (run) await run.stop();
      else if (await lockedElsewhere(runId)) throw new Error(`${OTHER_TAB_MESSAGE}: stop it there before deleting it.`);
      await deleteRunData(await deps.db(), runId);
    },

    async saveAdapter(runId, name) {
      const db = await deps.db();
      const stored = await getRun(db, runId);
      const running = live(runId);
      let adapter: LoraAdapter;
      if (running) {
        adapter = await running.snapshot();
      } else {
        const model = deps.models.active;
        if (!model || !sameModel(modelRefOf(model), stored.settings.model)) {
          throw new Error(`Load ${describeRef(stored.settings.model)} first: the adapter's modules are laid out from the model it trained.`);
        }
        const found = await checkpointOf(stored, model);
        if (!found) throw new Error(`The run "${stored.name}" has no checkpoint yet: there is no adapter to save.`);
        adapter = found.checkpoint.adapter;
      }
      const baseModel = stored.settings.modelName;
      const record: AdapterRecord & { runId: string } = {
        id: crypto.randomUUID(),
        name: name.trim() || stored.name,
        createdAt: nowIso(),
        runId,
        baseModel,
        config: adapterConfigJson(adapter, baseModel),
        weights: adapterWeightsBytes(adapter),
      };
      await saveRunAdapter(db, record);
      return record.id;
    },

    testRewards(request) {
      return runRewardTest(deps, sandbox, request);
    },
  };
}
