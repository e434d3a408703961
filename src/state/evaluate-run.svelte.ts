// The Evaluate page's evaluations: what to evaluate (the loaded base model, saved adapters, suites, options),
// the one running now with its progress, ETA and cancel, and the stored results (listed newest first; the
// selected one read whole, with its per-item outcomes), exported as JSON or CSV.

import { callback, type StudioClient } from '../worker/client';
import type { AdapterSummary } from '../worker/protocol-adapters';
import type { EvaluationEvent, EvaluationRecord, EvaluationSummary } from '../worker/protocol-eval';
import { errorMessage } from './errors';

export interface EvalProgressView {
  /** "base" or the adapter's name, and the suite. */
  label: string;
  done: number;
  total: number;
  etaSeconds?: number;
}

export class EvaluateRunState {
  adapters = $state.raw<AdapterSummary[]>([]);
  adapterIds = $state<string[]>([]);
  suiteIds = $state<string[]>([]);
  name = $state('');
  shots = $state(0);
  /** Empty: every item. */
  limit = $state<number | null>(null);
  seed = $state(1234);

  running = $state(false);
  cancelling = $state(false);
  progress = $state.raw<EvalProgressView | null>(null);
  error = $state<string | null>(null);

  history = $state.raw<EvaluationSummary[]>([]);
  historyLoaded = $state(false);
  selected = $state.raw<EvaluationRecord | null>(null);
  selecting = $state(false);

  constructor(private readonly client: StudioClient) {}

  async refresh(): Promise<void> {
    try {
      const [adapters, history] = await Promise.all([this.client.call((api) => api.listAdapters()), this.client.call((api) => api.listEvaluations())]);
      this.adapters = adapters;
      this.adapterIds = this.adapterIds.filter((id) => adapters.some((a) => a.id === id));
      this.history = history;
    } catch (err) {
      this.error = `The saved adapters and evaluations could not be read: ${errorMessage(err)}`;
    } finally {
      this.historyLoaded = true;
    }
  }

  problem(): string | null {
    if (this.suiteIds.length === 0) return 'Choose at least one suite.';
    if (!Number.isInteger(this.shots) || this.shots < 0) return 'Few-shot examples must be a whole number from 0.';
    if (this.limit !== null && !(Number.isInteger(this.limit) && this.limit >= 1)) return 'The item limit must be a whole number from 1 (or empty for all).';
    if (!Number.isInteger(this.seed)) return 'The seed must be a whole number.';
    return null;
  }

  async run(): Promise<void> {
    if (this.running) return;
    const problem = this.problem();
    if (problem) {
      this.error = problem;
      return;
    }
    this.running = true;
    this.cancelling = false;
    this.error = null;
    this.progress = null;
    const names = ['base', ...this.adapterIds.map((id) => this.adapters.find((a) => a.id === id)?.name ?? id)];
    const listener = callback((event: EvaluationEvent) => {
      if (!this.running || event.kind !== 'progress') return;
      const view: EvalProgressView = { label: `${names[event.target] ?? 'base'} · ${event.suiteName}`, done: event.done, total: event.total };
      this.progress = event.etaSeconds !== undefined ? { ...view, etaSeconds: event.etaSeconds } : view;
    });
    try {
      const request = {
        name: this.name,
        suiteIds: [...this.suiteIds],
        adapterIds: [...this.adapterIds],
        shots: this.shots,
        seed: this.seed,
        ...(this.limit !== null ? { limit: this.limit } : {}),
      };
      const summary = await this.client.call((api) => api.runEvaluation(request, listener));
      await this.refresh();
      await this.select(summary.id);
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.running = false;
      this.cancelling = false;
    }
  }

  async cancel(): Promise<void> {
    if (!this.running) return;
    this.cancelling = true;
    await this.client.call((api) => api.cancelEvaluation());
  }

  async select(id: string): Promise<void> {
    this.selecting = true;
    try {
      this.selected = await this.client.call((api) => api.getEvaluation(id));
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.selecting = false;
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.client.call((api) => api.deleteEvaluation(id));
      if (this.selected?.id === id) this.selected = null;
      await this.refresh();
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** The export's file name and blob, or null (the error is shown). */
  async exportFile(format: 'json' | 'csv'): Promise<{ fileName: string; blob: Blob } | null> {
    const record = this.selected;
    if (!record) return null;
    try {
      const text = await this.client.call((api) => api.exportEvaluation(record.id, format));
      const base = record.name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'evaluation';
      return { fileName: `${base}.${format === 'json' ? 'results.json' : 'csv'}`, blob: new Blob([text], { type: format === 'json' ? 'application/json' : 'text/csv' }) };
    } catch (err) {
      this.error = `The export failed: ${errorMessage(err)}`;
      return null;
    }
  }
}
