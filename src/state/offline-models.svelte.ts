// The repos of the server's offline model folder (`npm start -- --models DIR`).

import type { StudioClient } from '../worker/client';
import type { OfflineListing } from '../worker/protocol';
import { errorMessage } from './errors';

export class OfflineModelsState {
  /** null until listed. */
  listing = $state.raw<OfflineListing | null>(null);

  constructor(private readonly client: StudioClient) {}

  async refresh(): Promise<void> {
    try {
      this.listing = await this.client.call((api) => api.listOfflineModels());
    } catch (err) {
      this.listing = { available: false, reason: errorMessage(err) };
    }
  }
}
