// The IndexedDB probe the worker runs once per page load, and whether a newer Tunelab in another tab has
// since upgraded the database (this page must then be reloaded).

import { callback, type StudioClient } from '../worker/client';
import type { StorageProbeResult } from '../worker/protocol';
import { errorMessage } from './errors';

export class StorageState {
  /** null while the probe runs. */
  result = $state.raw<StorageProbeResult | null>(null);
  /** Set once another tab upgraded the database: "reload to continue". */
  upgradedMessage = $state<string | null>(null);

  constructor(private readonly client: StudioClient) {}

  async probe(): Promise<void> {
    try {
      this.result = await this.client.call((api) => api.probeStorage());
    } catch (err) {
      this.result = { ok: false, error: errorMessage(err) };
    }
  }

  /** Asks the worker to say when another tab upgrades the database (a worker that cannot be reached says nothing). */
  async watchUpgrades(): Promise<void> {
    try {
      await this.client.call((api) => api.onStorageUpgraded(callback((message: string) => (this.upgradedMessage = message))));
    } catch {
      // The GPU state reports an unreachable worker.
    }
  }
}
