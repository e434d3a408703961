// One training run in progress in this worker: the training loop on the GPU with the run's objective (SFT,
// DPO, SimPO, ORPO, or GRPO over completions it samples with the adapter attached and scores with its reward
// functions), its hooks writing every metric row, the record's progress and each checkpoint to
// IndexedDB before the page hears of them. A GRPO run keeps its latest generation's scored completions on
// its record and each evaluation's held-out ones on the evaluation's row, and posts them to the page at most
// a few times a second. The loop awaits every GPU step, so calls from the page (pause,
// stop, save) are served between steps. DPO compares against a frozen reference: the base model, or the
// saved adapter the run started from; its log-probabilities may be computed once before the first step
// (the page hears that pass's progress).
//
// How it ends decides the status it leaves: the loop's end 'completed'; pause / stop 'paused' / 'stopped'
// (the loop writes a checkpoint first); a lost device 'interrupted'; a full storage quota 'paused' at the
// last checkpoint that was written; a non-finite loss or gradient 'failed' with the loop's message (the
// last good checkpoint kept); anything else 'failed'. The lock and the model are released only after that
// status is written. A database upgraded by a newer Tunelab in another tab closes this tab's connection:
// the run stops after the step in flight, writes nothing more, and the page hears 'paused' at its last
// stored checkpoint with "reload to continue" (the stored record reads 'interrupted' after the reload).

import { GpuDeviceLostError } from '../engine/gpu/errors';
import type { LoraAdapter } from '../engine/lora/adapter';
import { checkpointBytes, type TrainCheckpoint } from '../engine/train/checkpoint';
import { GpuBackend } from '../engine/train/gpu/gpu-backend';
import { NonFiniteTrainingError } from '../engine/train/errors';
import { LiveRolloutSource } from '../engine/train/grpo/rollout-source';
import type { RolloutReport } from '../engine/train/grpo/rollout-feed';
import type { RewardSet } from '../engine/train/grpo/rewards';
import { runGrpoTraining } from '../engine/train/grpo/run-grpo';
import { runTraining, type EvalMetrics, type LoopConfig, type StepMetrics, type TrainHooks, type TrainResult } from '../engine/train/train-loop';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import { StorageUpgradedError, UPGRADED_ELSEWHERE_MESSAGE } from '../storage/db';
import { isQuotaExceeded, StorageFullError, storageFullError } from '../storage/quota';
import type { MetricRow, RunRecord, RunStatus, StoredRollouts } from '../storage/records';
import type { RunWriter } from '../storage/runs-store';
import type { ActiveModel } from './model-session';
import type { RunEvent, RunListener } from './protocol-runs';
import { releaseCallback } from './release-callback';
import { isGrpoData, type MethodRunData } from './run-data';
import type { GrpoRunData } from './run-grpo-data';
import { compactRollouts, LatestThrottle } from './run-rollouts';
import { EtaClock } from './run-eta';
import type { RunLock } from './run-lock';
import { adapterSamples } from './run-samples';
import type { RunSuites } from './run-suites';
import { deviceLostMessage, filesNote, storageFullRunMessage, storageUpgradedRunMessage } from './run-status';

export interface TrainingRunSetup {
  /** IndexedDB in the studio (runWriter(db)). */
  store: RunWriter;
  /** The record as stored, status 'running'. */
  run: RunRecord;
  model: ActiveModel;
  tokenizer: ModelTokenizer;
  data: MethodRunData;
  /** GRPO: the run's reward functions, and what frees them (their sandbox) when the run ends. */
  rewards?: { set: RewardSet; dispose(): void };
  /** Initialised for a fresh run; for a resume, the checkpoint's (resume.adapter). */
  adapter: LoraAdapter;
  /** The saved adapter the run started from, frozen (DPO's reference); absent: the run began from a fresh adapter. */
  reference?: LoraAdapter;
  resume: TrainCheckpoint | undefined;
  lock: RunLock;
  /** The model reserved for this run. */
  claim: { release(): void };
  listener: RunListener;
  /** The eval suites attached to the run (scored at each evaluation, compared with the base at the end). */
  suites?: RunSuites;
  /** Resolves when another tab upgraded the database: nothing more can be stored (WorkerDeps.storageUpgraded). */
  storageUpgraded?: Promise<void>;
}

interface Outcome {
  status: RunStatus;
  message?: string;
}

/** How long a failed step waits to learn whether the device was lost (the loss is reported asynchronously). */
const DEVICE_LOST_GRACE_MS = 200;
/** The page hears a GRPO run's latest rollouts at most this often. */
const ROLLOUT_POST_MS = 500;

const nowIso = () => new Date().toISOString();

export class TrainingRun {
  readonly id: string;
  /** Settles with the record as the run left it. */
  readonly done: Promise<RunRecord>;
  private readonly controller = new AbortController();
  private stopAs: 'paused' | 'stopped' = 'paused';
  private lostMessage: string | null = null;
  /** Another tab upgraded the database: the connection is closed, nothing more is written. */
  private storageGone = false;
  private record: RunRecord;
  private readonly eta = new EtaClock();
  /** GRPO: the held-out rollouts of the evaluation under way (its row carries them). */
  private evalRollouts: StoredRollouts | null = null;
  /** GRPO: the latest generation's rollouts, stored with the step that trains on them. */
  private pendingRollouts: StoredRollouts | null = null;
  private readonly rolloutPosts = new LatestThrottle<StoredRollouts>((rollouts) => this.emit({ kind: 'rollouts', runId: this.id, rollouts }), ROLLOUT_POST_MS);

  private constructor(
    private readonly setup: TrainingRunSetup,
    private readonly backend: GpuBackend,
  ) {
    this.id = setup.run.id;
    this.record = setup.run;
    void setup.model.model.ctx.lost.then((err) => this.onDeviceLost(err));
    void setup.storageUpgraded?.then(() => this.onStorageUpgraded());
    this.done = this.train();
  }

  /**
   * Uploads the adapter and starts the loop. If the GPU refuses (out of memory), the run is marked failed
   * and its lock and model are released before this rejects.
   */
  static async start(setup: TrainingRunSetup): Promise<TrainingRun> {
    let backend: GpuBackend;
    try {
      // Only DPO, and GRPO with a KL term, read a reference: the others never upload it.
      const { data } = setup;
      const reference = data.objective.readsReference ? setup.reference : undefined;
      backend = new GpuBackend(setup.model.model, setup.adapter, { seed: setup.run.settings.loop.seed, reference });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await setup.store.updateRun(setup.run.id, (r) => ({ ...r, status: 'failed', message, updatedAt: nowIso() })).catch(() => undefined);
      setup.rewards?.dispose();
      setup.claim.release();
      setup.lock.release();
      throw err;
    }
    return new TrainingRun(setup, backend);
  }

  get run(): RunRecord {
    return this.record;
  }

  /** Where the run writes; refused once the database was upgraded elsewhere (the loop then ends, paused). */
  private get store() {
    if (this.storageGone) throw new StorageUpgradedError();
    return this.setup.store;
  }

  /** Ends the loop after the step in flight, with a checkpoint; resolves once the run has stopped. */
  pause(): Promise<RunRecord> {
    this.stopAs = 'paused';
    this.controller.abort();
    return this.done;
  }

  stop(): Promise<RunRecord> {
    this.stopAs = 'stopped';
    this.controller.abort();
    return this.done;
  }

  /** The adapter as trained so far. */
  snapshot(): Promise<LoraAdapter> {
    return this.backend.snapshot();
  }

  private async train(): Promise<RunRecord> {
    const { data, run, resume } = this.setup;
    const settings = run.settings;
    this.eta.mark(resume?.step ?? 0, performance.now());
    let outcome: Outcome;
    const loop: LoopConfig = { ...settings.loop, saveEvery: settings.checkpointEvery };
    const hooks: TrainHooks = {
      signal: this.controller.signal,
      onStep: (m) => this.onStep(m),
      onEval: (m) => this.onEval(m),
      onCheckpoint: (c) => this.onCheckpoint(c),
      onReferenceProgress: (done, total) => this.emit({ kind: 'reference', runId: this.id, done, total }),
      onReferenceFallback: (reason) => this.onReferenceFallback(reason),
    };
    try {
      const result = isGrpoData(data)
        ? await this.trainGrpo(data, loop, hooks)
        : await runTraining(this.backend, data.objective, data.train, data.eval, loop, hooks, resume, {
            precomputeReference: settings.preference?.precomputeRef ?? false,
          });
      outcome = this.lostMessage !== null ? this.lostOutcome() : { status: result.stopped ? this.stopAs : 'completed', message: filesNote(this.record) };
      if (outcome.status === 'completed') await this.compareSuites();
    } catch (err) {
      outcome = await this.failure(err);
    }
    // Also when the last step's writes landed just before: the status cannot be stored any more.
    if (this.storageGone) outcome = this.storageOutcome();
    return this.finish(outcome);
  }

  /** GRPO: completions sampled with the adapter as trained so far (attached again before every generation: an evaluation of the suites detaches it). */
  private trainGrpo(data: GrpoRunData, loop: LoopConfig, hooks: TrainHooks): Promise<TrainResult> {
    const { model, tokenizer, rewards, resume } = this.setup;
    if (!rewards) throw new Error('A GRPO run needs its reward functions.');
    const source = new LiveRolloutSource({
      policy: () => {
        this.backend.attach(true);
        return model.model;
      },
      tokenizer,
      train: data.train,
      heldOut: data.eval,
      rewards: rewards.set,
      config: data.objective.config,
      seed: loop.seed,
    });
    const rolloutHooks = {
      onRollouts: (report: RolloutReport) => this.onRollouts(report),
      onEvalRollouts: (report: RolloutReport) => {
        this.evalRollouts = compactRollouts(report, rewards.set.names);
      },
    };
    return runGrpoTraining(this.backend, data.objective, source, loop, { ...hooks, ...rolloutHooks }, resume);
  }

  /**
   * A new generation's scored completions: posted to the page, and kept on the record (the latest only) with
   * the step they train, in that step's one write.
   */
  private onRollouts(report: RolloutReport): void {
    this.pendingRollouts = compactRollouts(report, this.setup.rewards?.set.names ?? []);
    this.rolloutPosts.push(this.pendingRollouts);
  }

  private async onStep(m: StepMetrics): Promise<void> {
    const row: MetricRow = { runId: this.id, kind: 'step', ...m };
    const rollouts = this.pendingRollouts;
    this.pendingRollouts = null;
    this.record = await this.store.appendRow(row, (r) => ({ ...r, step: m.step, ...(rollouts ? { rollouts } : {}), updatedAt: nowIso() }));
    this.emit({ kind: 'metric', row });
    this.eta.mark(m.step, performance.now());
    const seconds = this.eta.secondsLeft(this.record.settings.loop.steps);
    if (seconds !== null) this.emit({ kind: 'eta', step: m.step, totalSteps: this.record.settings.loop.steps, seconds });
  }

  private async onEval(m: EvalMetrics): Promise<void> {
    const { model, tokenizer, data } = this.setup;
    // GRPO's samples are its held-out rollouts, made by the evaluation itself.
    const rollouts = this.evalRollouts;
    this.evalRollouts = null;
    const samples = isGrpoData(data) ? [] : await adapterSamples(model.model, this.backend, tokenizer, data.samplePrompts);
    const suites = await this.suiteScores(m.step);
    const row: MetricRow = { runId: this.id, kind: 'eval', ...m, samples, ...(suites ? { suites } : {}), ...(rollouts ? { rollouts } : {}) };
    this.record = await this.store.appendRow(row, (r) => ({ ...r, updatedAt: nowIso() }));
    this.emit({ kind: 'metric', row });
  }

  /** The attached suites on the adapter as trained so far (null: none attached, or a pause cut them short). */
  private async suiteScores(step: number) {
    const suites = this.setup.suites;
    if (!suites || suites.count === 0) return null;
    this.backend.attach(true);
    try {
      return await suites.evaluate(this.setup.model.model, this.setup.tokenizer, step, this.controller.signal);
    } finally {
      this.backend.attach(false);
    }
  }

  /**
   * A completed run with suites: its last evaluation (made now if the loop made none at the last step)
   * against the base model. A failure here is noted on the run; it never fails the training.
   */
  private async compareSuites(): Promise<void> {
    const suites = this.setup.suites;
    if (!suites || suites.count === 0) return;
    const step = this.record.step;
    this.emit({ kind: 'suites', runId: this.id, phase: 'comparing' });
    let suiteComparison: RunRecord['suiteComparison'];
    try {
      if (suites.latestStep !== step) await this.suiteScores(step);
      suiteComparison = await suites.compareWithBase(this.setup.model.model, this.setup.tokenizer);
    } catch (err) {
      if (this.lostMessage !== null) return;
      const message = `The comparison of the attached suites with the base failed: ${err instanceof Error ? err.message : String(err)}`;
      suiteComparison = { step, comparedAt: nowIso(), base: [], adapted: [], comparisons: [], forgetting: [], message };
    }
    this.record = await this.store.updateRun(this.id, (r) => ({ ...r, suiteComparison, updatedAt: nowIso() }));
  }

  /** Short memory: the run computes its reference once from now on, and keeps that setting for its resumes. */
  private async onReferenceFallback(reason: string): Promise<void> {
    const message = `${reason} With the reference's pass in each step the run did not fit: its log-probabilities are now computed once before training.`;
    this.record = await this.store.updateRun(this.id, (r) => ({
      ...r,
      message,
      settings: r.settings.preference ? { ...r.settings, preference: { ...r.settings.preference, precomputeRef: true } } : r.settings,
      updatedAt: nowIso(),
    }));
    this.emit({ kind: 'status', run: this.record });
  }

  private async onCheckpoint(c: TrainCheckpoint): Promise<void> {
    const checkpoint = { runId: this.id, step: c.step, bytes: checkpointBytes(c), savedAt: nowIso() };
    this.record = await this.store.saveCheckpoint(checkpoint, (r) => ({ ...r, checkpointStep: c.step, updatedAt: nowIso() }));
    this.emit({ kind: 'status', run: this.record });
  }

  private onDeviceLost(err: GpuDeviceLostError): void {
    if (this.lostMessage !== null) return;
    this.lostMessage = err.message;
    this.controller.abort();
  }

  private onStorageUpgraded(): void {
    this.storageGone = true;
    this.controller.abort();
  }

  private storageOutcome(): Outcome {
    return { status: 'paused', message: storageUpgradedRunMessage(this.record, UPGRADED_ELSEWHERE_MESSAGE) };
  }

  private lostOutcome(): Outcome {
    return { status: 'interrupted', message: deviceLostMessage(this.record, this.lostMessage ?? 'The GPU device was lost.') };
  }

  private async failure(err: unknown): Promise<Outcome> {
    if (this.storageGone) return this.storageOutcome();
    if (err instanceof GpuDeviceLostError) this.onDeviceLost(err);
    if (this.lostMessage === null) {
      // A step that failed because the device went away reports it before the device's own lost promise.
      const lost = await Promise.race([
        this.setup.model.model.ctx.lost,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), DEVICE_LOST_GRACE_MS)),
      ]);
      if (lost) this.onDeviceLost(lost);
    }
    if (this.lostMessage !== null) return this.lostOutcome();
    if (isQuotaExceeded(err)) {
      const full = err instanceof StorageFullError ? err : await storageFullError();
      return { status: 'paused', message: storageFullRunMessage(this.record, full.message) };
    }
    // Names the step and the value, and says which checkpoint is kept.
    if (err instanceof NonFiniteTrainingError) return { status: 'failed', message: err.message };
    const message = err instanceof Error ? err.message : String(err);
    return { status: 'failed', message: `Training failed after step ${this.record.step}: ${message}` };
  }

  /** Frees the GPU side, writes the final status, then lets go of the model and the lock. */
  private async finish(outcome: Outcome): Promise<RunRecord> {
    this.backend.dispose();
    this.setup.rewards?.dispose();
    this.rolloutPosts.flush();
    const change = (r: RunRecord): RunRecord => ({ ...r, status: outcome.status, message: outcome.message, updatedAt: nowIso() });
    try {
      // Upgraded elsewhere: nothing can be stored; the record reads 'interrupted' after the reload.
      this.record = this.storageGone ? change(this.record) : await this.store.updateRun(this.id, change);
    } catch (err) {
      // Unsaved (a full quota): the stored record still says 'running' and reads as interrupted once the
      // lock is gone; the page hears the real outcome now.
      const unsaved = err instanceof Error ? ` (this status could not be saved: ${err.message})` : '';
      this.record = { ...change(this.record), message: `${outcome.message ?? ''}${unsaved}`.trim() };
    }
    this.setup.claim.release();
    this.emit({ kind: 'status', run: this.record });
    this.setup.lock.release();
    releaseCallback(this.setup.listener);
    return this.record;
  }

  /** Tells the page; a closed page never answers, which must not hold up training. */
  private emit(event: RunEvent): void {
    try {
      void Promise.resolve(this.setup.listener(event)).catch(() => undefined);
    } catch {
      // The page's end of the callback is gone.
    }
  }
}
