// The kernel self-test: runs in the worker, reports progress per check, keeps the last run's results.

import { callback, type StudioClient } from '../worker/client';
import type { KernelCheckResult, SelfTestProgress } from '../worker/protocol';
import { errorMessage } from './errors';

export class SelfTestState {
  /** The registry's check names, in run order (from the worker). */
  checkNames = $state.raw<string[]>([]);
  running = $state(false);
  /** The latest progress event of the running test. */
  progress = $state.raw<SelfTestProgress | null>(null);
  /** Results so far (while running) or of the last completed run. */
  results = $state.raw<KernelCheckResult[]>([]);
  /** The run as a whole failed (not a single check). */
  error = $state<string | null>(null);
  /** True once a run has returned its full list. */
  complete = $state(false);

  readonly passed = $derived(this.results.filter((r) => r.pass).length);
  readonly totalMs = $derived(this.results.reduce((sum, r) => sum + r.ms, 0));
  readonly allPass = $derived(this.complete && this.results.length > 0 && this.passed === this.results.length);

  private runId = 0;

  constructor(private readonly client: StudioClient) {}

  async loadCheckNames(): Promise<void> {
    try {
      this.checkNames = await this.client.call((api) => api.kernelCheckNames());
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  async run(): Promise<void> {
    if (this.running) return;
    const runId = ++this.runId;
    this.running = true;
    this.complete = false;
    this.error = null;
    this.results = [];
    this.progress = null;
    const onProgress = callback((p: SelfTestProgress) => this.onProgress(runId, p));
    try {
      this.results = await this.client.call((api) => api.runSelfTest(onProgress));
      this.complete = true;
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.running = false;
      this.progress = null;
    }
  }

  /** Progress travels on its own channel and may arrive after the final answer: ignore stale events. */
  private onProgress(runId: number, p: SelfTestProgress): void {
    if (runId !== this.runId || !this.running) return;
    this.progress = p;
    if (p.phase === 'done' && p.result) this.results = [...this.results, p.result];
  }
}
