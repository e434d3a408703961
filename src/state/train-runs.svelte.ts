// The runs of the Train page: the stored list, the run this tab drives (started or resumed here, with its
// live curves, progress and ETA), the run being looked at, two runs chosen for comparison, and the calls
// that control, rename, delete or save them.

import type uPlot from 'uplot';
import { callback, type StudioClient } from '../worker/client';
import type { RunEvent } from '../worker/protocol-runs';
import type { MetricRow, RunRecord, RunSettings, StoredRollouts } from '../storage/records';
import { errorMessage } from './errors';
import { RunCurves } from './train-curves.svelte';
import { compareCurves } from './train-compare';

export interface RunProgress {
  step: number;
  totalSteps: number;
  /** Seconds left at the current pace (null before the worker has measured one). */
  seconds: number | null;
  /** DPO's reference log-probabilities being computed before the first step: examples done of total. */
  reference?: { done: number; total: number };
  /** The run completed its steps and its attached suites are being compared with the base model. */
  comparing?: boolean;
}

/** Statuses a run can be resumed from (its last checkpoint, or the start when it has none). */
export const RESUMABLE: ReadonlySet<RunRecord['status']> = new Set(['paused', 'interrupted']);

export class TrainRuns {
  /** Called once a resumed run is running (its model may have been loaded in the worker meanwhile). */
  afterResume: (() => Promise<void>) | undefined;
  /** Called once an adapter was saved from a run (a new run may start from it). */
  afterSave: (() => Promise<void>) | undefined;
  runs = $state.raw<RunRecord[]>([]);
  listError = $state<string | null>(null);
  /** The run whose curves are shown. */
  selectedId = $state<string | null>(null);
  /** The run this tab started or resumed (its events arrive here). */
  liveId = $state<string | null>(null);
  progress = $state.raw<RunProgress | null>(null);
  /** A start / pause / resume / stop call is on its way. */
  busy = $state(false);
  error = $state<string | null>(null);
  /** Why the shown run's curves could not be read. */
  curvesError = $state<string | null>(null);
  /** The live run's curves (fed by its events), and a stored run's (read once when selected). */
  readonly liveCurves = new RunCurves();
  readonly storedCurves = new RunCurves();
  /** The two runs chosen for comparison, and their overlaid curves. */
  compareIds = $state.raw<string[]>([]);
  compareData = $state.raw<{ data: uPlot.AlignedData; labels: string[] } | null>(null);
  compareError = $state<string | null>(null);
  /** The adapter saved last (shown next to the run). */
  savedAdapter = $state.raw<{ runId: string; adapterId: string; name: string } | null>(null);
  /** GRPO: the live run's latest generation of scored completions, as the worker posts them. */
  liveRollouts = $state.raw<StoredRollouts | null>(null);

  readonly selected: RunRecord | null = $derived(this.runs.find((r) => r.id === this.selectedId) ?? null);
  readonly live: RunRecord | null = $derived(this.runs.find((r) => r.id === this.liveId) ?? null);
  readonly curves: RunCurves = $derived(this.selectedId !== null && this.selectedId === this.liveId ? this.liveCurves : this.storedCurves);
  /** GRPO: the shown run's latest rollouts (the live run's as they arrive, else those kept on its record). */
  readonly rollouts: StoredRollouts | null = $derived(
    (this.selectedId !== null && this.selectedId === this.liveId ? this.liveRollouts : null) ?? this.selected?.rollouts ?? null,
  );

  /** Bumped by every start / resume: events of an older listener are dropped. */
  private session = 0;
  private selectToken = 0;
  /** Live rows that arrived while the stored ones were being read (applied after them, in order). */
  private queued: MetricRow[] | null = null;

  constructor(private readonly client: StudioClient) {}

  async refresh(): Promise<void> {
    try {
      const runs = await this.client.call((api) => api.listRuns());
      this.runs = runs.toSorted((a, b) => b.createdAt.localeCompare(a.createdAt));
      this.listError = null;
      if (this.selectedId === null && this.runs.length > 0) void this.select(this.runs[0].id);
      if (this.selectedId !== null && !this.runs.some((r) => r.id === this.selectedId)) this.selectedId = null;
    } catch (err) {
      this.listError = errorMessage(err);
    }
  }

  /** Shows a run's curves (the live run's are already here; a stored run's are read once). */
  async select(id: string): Promise<void> {
    this.selectedId = id;
    this.curvesError = null;
    if (id === this.liveId) return;
    const token = ++this.selectToken;
    this.storedCurves.reset();
    try {
      const rows = await this.client.call((api) => api.runMetrics(id));
      if (token === this.selectToken && this.selectedId === id) this.storedCurves.reset(rows);
    } catch (err) {
      if (token === this.selectToken) this.curvesError = errorMessage(err);
    }
  }

  async start(name: string, settings: RunSettings): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.error = null;
    const session = ++this.session;
    this.liveId = null;
    this.selectedId = null;
    this.curvesError = null;
    this.progress = { step: 0, totalSteps: settings.loop.steps, seconds: null };
    this.liveRollouts = null;
    this.liveCurves.reset();
    this.queued = null;
    try {
      const run = await this.client.call((api) => api.startRun(name, settings, this.listener(session)));
      if (session !== this.session) return;
      this.adopt(run);
    } catch (err) {
      if (session === this.session) {
        this.error = errorMessage(err);
        this.progress = null;
      }
    } finally {
      this.busy = false;
    }
  }

  /**
   * Continues a paused or interrupted run here. Its stored rows are read first; the resumed steps (from its
   * checkpoint on) then replace any stored after it, so the curve has no gap and no step twice.
   */
  async resume(id: string): Promise<void> {
    if (this.busy) return;
    if (this.live?.status === 'running') {
      this.error = `The run "${this.live.name}" is training in this tab: pause or stop it first.`;
      return;
    }
    this.busy = true;
    this.error = null;
    const session = ++this.session;
    this.liveId = id;
    this.selectedId = id;
    this.curvesError = null;
    const run = this.runs.find((r) => r.id === id);
    this.progress = run ? { step: run.checkpointStep, totalSteps: run.settings.loop.steps, seconds: null } : null;
    this.liveRollouts = null;
    this.liveCurves.reset();
    this.queued = [];
    try {
      const resumed = this.client.call((api) => api.resumeRun(id, this.listener(session)));
      // Awaited below, after the stored rows; a refusal meanwhile must not count as unhandled.
      resumed.catch(() => undefined);
      const rows = await this.client.call((api) => api.runMetrics(id));
      if (session === this.session) this.applyStored(rows);
      const record = await resumed;
      if (session === this.session) this.adopt(record);
      await this.afterResume?.();
    } catch (err) {
      if (session === this.session) {
        // Not resumed here (another tab owns it, its model or dataset is gone, ...): show it as stored.
        this.error = errorMessage(err);
        this.queued = null;
        this.liveId = null;
        this.progress = null;
        await this.refresh();
        await this.select(id);
      }
    } finally {
      this.busy = false;
    }
  }

  async pause(): Promise<void> {
    await this.control((id) => this.client.call((api) => api.pauseRun(id)));
  }

  async stop(): Promise<void> {
    await this.control((id) => this.client.call((api) => api.stopRun(id)));
  }

  async rename(id: string, name: string): Promise<void> {
    const trimmed = name.trim();
    if (!trimmed) {
      this.error = 'A run needs a name.';
      return;
    }
    await this.guard(async () => {
      await this.client.call((api) => api.renameRun(id, trimmed));
      this.runs = this.runs.map((r) => (r.id === id ? { ...r, name: trimmed } : r));
    });
  }

  async remove(id: string): Promise<void> {
    await this.guard(async () => {
      await this.client.call((api) => api.deleteRun(id));
      this.runs = this.runs.filter((r) => r.id !== id);
      this.compareIds = this.compareIds.filter((c) => c !== id);
      if (this.compareIds.length < 2) this.compareData = null;
      if (this.liveId === id) this.liveId = null;
      if (this.selectedId === id) {
        this.selectedId = null;
        this.storedCurves.reset();
        if (this.runs.length > 0) void this.select(this.runs[0].id);
      }
    });
  }

  async saveAdapter(id: string, name: string): Promise<void> {
    const trimmed = name.trim();
    if (!trimmed) {
      this.error = 'The adapter needs a name.';
      return;
    }
    await this.guard(async () => {
      const adapterId = await this.client.call((api) => api.saveAdapter(id, trimmed));
      this.savedAdapter = { runId: id, adapterId, name: trimmed };
      this.runs = this.runs.map((r) => (r.id === id ? { ...r, adapterId } : r));
      await this.afterSave?.();
    });
  }

  /** Adds or removes a run from the comparison (two at most: a third replaces the older choice). */
  async toggleCompare(id: string, on: boolean): Promise<void> {
    const rest = this.compareIds.filter((c) => c !== id);
    this.compareIds = on ? [...rest, id].slice(-2) : rest;
    await this.refreshCompare();
  }

  /** Reads the two compared runs' rows and overlays their curves (a snapshot; refresh for a running one). */
  async refreshCompare(): Promise<void> {
    const ids = this.compareIds;
    if (ids.length < 2) {
      this.compareData = null;
      this.compareError = null;
      return;
    }
    try {
      const rows = await Promise.all(ids.map((id) => this.client.call((api) => api.runMetrics(id))));
      if (ids !== this.compareIds) return;
      const names = ids.map((id) => this.runs.find((r) => r.id === id)?.name ?? id);
      this.compareData = compareCurves(
        rows.map((r, i) => ({ name: names[i], rows: r })),
        this.liveCurves.smoothing,
      );
      this.compareError = null;
    } catch (err) {
      if (ids === this.compareIds) this.compareError = errorMessage(err);
    }
  }

  setSmoothing(factor: number): void {
    this.liveCurves.setSmoothing(factor);
    this.storedCurves.setSmoothing(factor);
    if (this.compareData) void this.refreshCompare();
  }

  private listener(session: number) {
    return callback((event: RunEvent) => {
      if (session === this.session) this.onEvent(event);
    });
  }

  private onEvent(event: RunEvent): void {
    switch (event.kind) {
      case 'metric':
        if (this.liveId === null) this.adoptId(event.row.runId);
        if (event.row.runId !== this.liveId) return;
        if (this.queued) this.queued.push(event.row);
        else this.liveCurves.append(event.row);
        if (event.row.kind === 'step') this.onStep(event.row.runId, event.row.step);
        return;
      case 'eta':
        this.progress = { step: event.step, totalSteps: event.totalSteps, seconds: event.seconds };
        return;
      case 'reference': {
        if (this.liveId === null) this.adoptId(event.runId);
        if (event.runId !== this.liveId) return;
        const p = this.progress;
        this.progress = { step: p?.step ?? 0, totalSteps: p?.totalSteps ?? 0, seconds: null, reference: { done: event.done, total: event.total } };
        return;
      }
      case 'suites': {
        if (event.runId !== this.liveId) return;
        const p = this.progress;
        this.progress = { step: p?.step ?? 0, totalSteps: p?.totalSteps ?? 0, seconds: null, comparing: true };
        return;
      }
      case 'rollouts':
        if (this.liveId === null) this.adoptId(event.runId);
        if (event.runId === this.liveId) this.liveRollouts = event.rollouts;
        return;
      case 'status':
        if (this.liveId === null) this.adoptId(event.run.id);
        if (event.run.id === this.liveId) this.upsert(event.run);
        return;
    }
  }

  /** Progress and the list's step count follow every step (status events come only at checkpoints). */
  private onStep(runId: string, step: number): void {
    const p = this.progress;
    this.progress = { step, totalSteps: p?.totalSteps ?? step, seconds: p?.seconds ?? null };
    const i = this.runs.findIndex((r) => r.id === runId);
    if (i >= 0) this.runs = this.runs.with(i, { ...this.runs[i], step });
  }

  /** The stored rows of a run being resumed, then the live rows that came meanwhile. */
  private applyStored(rows: MetricRow[]): void {
    const queued = this.queued ?? [];
    this.queued = null;
    this.liveCurves.reset(rows);
    for (const row of queued) this.liveCurves.append(row);
  }

  /** The first event of a started run names it: show it. */
  private adoptId(id: string): void {
    this.liveId = id;
    if (this.selectedId === null) this.selectedId = id;
  }

  private adopt(run: RunRecord): void {
    this.liveId = run.id;
    this.upsert(run);
    this.selectedId = run.id;
  }

  /** Puts a run's record in the list; an older record (a reply overtaken by a status event) is dropped. */
  private upsert(run: RunRecord): void {
    const i = this.runs.findIndex((r) => r.id === run.id);
    if (i >= 0 && this.runs[i].updatedAt > run.updatedAt) return;
    this.runs = i < 0 ? [run, ...this.runs] : this.runs.with(i, run);
  }

  private async control(call: (runId: string) => Promise<void>): Promise<void> {
    const id = this.liveId;
    if (id === null || this.busy) return;
    this.busy = true;
    this.error = null;
    try {
      await call(id);
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.busy = false;
    }
  }

  private async guard(work: () => Promise<void>): Promise<void> {
    this.error = null;
    try {
      await work();
    } catch (err) {
      this.error = errorMessage(err);
    }
  }
}
