// The IndexedDB probe the worker runs once per page load.

import type { StudioClient } from '../worker/client';
import type { StorageProbeResult } from '../worker/protocol';
import { errorMessage } from './errors';

export class StorageState {
  /** null while the probe runs. */
  result = $state.raw<StorageProbeResult | null>(null);

  constructor(private readonly client: StudioClient) {}

  async probe(): Promise<void> {
    try {
      this.result = await this.client.call((api) => api.probeStorage());
    } catch (err) {
      this.result = { ok: false, error: errorMessage(err) };
    }
  }
}
