// Everything the Train page holds: the settings form, the saved datasets and adapters to pick from, and the
// runs. One per worker connection, kept while the user visits other pages, so a running run's live curves
// and progress are still there on coming back.

import type { EvalSuiteSummary } from '../worker/protocol-eval';
import type { StudioClient } from '../worker/client';
import type { AdapterSummary } from '../worker/protocol-adapters';
import type { DatasetSummary } from '../worker/protocol-datasets';
import type { LoadedModelInfo } from '../worker/protocol';
import { datasetMismatch, METHOD_LABELS } from '../worker/run-method';
import type { ModelRef } from '../storage/records';
import { errorMessage } from './errors';
import type { TrainMethod } from './train-defaults';
import { TrainForm } from './train-form.svelte';
import { RewardTestState } from './train-grpo-test.svelte';
import { TrainRuns } from './train-runs.svelte';

export class TrainPageState {
  readonly form = new TrainForm();
  readonly runs: TrainRuns;
  /** GRPO's "Test on samples" of the reward list. */
  readonly rewardTest: RewardTestState;
  datasets = $state.raw<DatasetSummary[]>([]);
  datasetsLoaded = $state(false);
  datasetsError = $state<string | null>(null);
  datasetId = $state<string | null>(null);
  /** Saved adapters (a run may start from one made for the loaded model). */
  adapters = $state.raw<AdapterSummary[]>([]);
  adaptersError = $state<string | null>(null);
  /** Saved eval suites a run can attach (judge suites need a second model: the Evaluate page runs them). */
  evalSuites = $state.raw<EvalSuiteSummary[]>([]);
  evalSuitesError = $state<string | null>(null);

  readonly dataset: DatasetSummary | null = $derived(this.datasets.find((d) => d.id === this.datasetId) ?? null);
  /** Why each saved dataset cannot train the chosen method (absent: it can). */
  readonly refusals: ReadonlyMap<string, string> = $derived.by(() => {
    const method = this.form.method;
    const refused = new Map<string, string>();
    for (const d of this.datasets) {
      const why = datasetMismatch(d, method);
      if (why) refused.set(d.id, why);
    }
    return refused;
  });

  constructor(private readonly client: StudioClient) {
    this.runs = new TrainRuns(client);
    this.rewardTest = new RewardTestState(client);
    this.runs.afterSave = () => this.refreshAdapters();
  }

  /** Reads the saved datasets, adapters and runs (other pages or another tab may have changed them). */
  async refresh(): Promise<void> {
    await Promise.all([this.refreshDatasets(), this.refreshAdapters(), this.refreshEvalSuites(), this.runs.refresh()]);
  }

  /** Switches the method; a chosen dataset the method cannot read gives way to the newest one it can. */
  setMethod(method: TrainMethod): void {
    this.form.setMethod(method);
    if (this.dataset && !this.refusals.has(this.dataset.id)) return;
    const fitting = this.datasets.find((d) => !this.refusals.has(d.id));
    if (fitting) this.datasetId = fitting.id;
  }

  async refreshAdapters(): Promise<void> {
    try {
      this.adapters = await this.client.call((api) => api.listAdapters());
      this.adaptersError = null;
      // An adapter deleted meanwhile can no longer be started from.
      if (this.form.startFrom && !this.adapters.some((a) => a.id === this.form.startFrom?.id)) this.form.startFrom = null;
    } catch (err) {
      this.adaptersError = errorMessage(err);
    }
  }

  async refreshEvalSuites(): Promise<void> {
    try {
      this.evalSuites = (await this.client.call((api) => api.listSuites())).filter((s) => s.kind !== 'judge');
      this.evalSuitesError = null;
      // A suite deleted meanwhile can no longer be attached.
      const kept = this.form.suites.filter((a) => this.evalSuites.some((s) => s.id === a.id));
      if (kept.length !== this.form.suites.length) this.form.suites = kept;
    } catch (err) {
      this.evalSuitesError = errorMessage(err);
    }
  }

  async refreshDatasets(): Promise<void> {
    try {
      const list = await this.client.call((api) => api.listDatasets());
      this.datasets = list.toSorted((a, b) => b.createdAt.localeCompare(a.createdAt));
      this.datasetsError = null;
      // Keep the choice while it exists; else the newest dataset the method can read (or the newest one).
      if (!this.datasets.some((d) => d.id === this.datasetId)) {
        this.datasetId = (this.datasets.find((d) => !this.refusals.has(d.id)) ?? this.datasets[0])?.id ?? null;
      }
    } catch (err) {
      this.datasetsError = errorMessage(err);
    } finally {
      this.datasetsLoaded = true;
    }
  }

  /** Starts a run of the form's settings on the loaded model (call when form.problem() is null). */
  async start(model: LoadedModelInfo, ref: ModelRef): Promise<void> {
    const dataset = this.dataset;
    if (!dataset) return;
    const settings = this.form.settings(model, ref, dataset);
    const method = settings.method === 'sft' ? '' : `${METHOD_LABELS[settings.method]} `;
    const name = this.form.runName.trim() || defaultRunName(settings.lora.r, settings.loop.lr, `${method}${dataset.name}`);
    await this.runs.start(name, settings);
  }
}

/** "stories-setting r8 lr2e-3 14:05:09" (DPO: "DPO stories-preference r8 ...") */
function defaultRunName(r: number, lr: number, dataset: string): string {
  const time = new Date().toTimeString().slice(0, 8);
  return `${dataset} r${r} lr${lr.toExponential(0)} ${time}`;
}

const pages = new WeakMap<StudioClient, TrainPageState>();

/**
 * The Train page's state for this worker connection (made on first visit). It is built in its own effect
 * root: made inside the page component, its $derived fields would belong to that component and go stale
 * once the user leaves the page.
 */
export function trainPageState(client: StudioClient): TrainPageState {
  let state = pages.get(client);
  if (!state) {
    let made: TrainPageState | undefined;
    $effect.root(() => {
      made = new TrainPageState(client);
    });
    state = made as TrainPageState;
    pages.set(client, state);
  }
  return state;
}
