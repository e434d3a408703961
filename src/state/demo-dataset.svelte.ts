// The demo's sample dataset, saved by the worker when the demo is started (once; again if deleted).

import type { StudioClient } from '../worker/client';
import { errorMessage } from './errors';

export class DemoDatasetState {
  status = $state<'idle' | 'saving' | 'saved' | 'error'>('idle');
  datasetId = $state<string | null>(null);
  error = $state<string | null>(null);

  constructor(private readonly client: StudioClient) {}

  async ensure(): Promise<void> {
    if (this.status === 'saving') return;
    this.status = 'saving';
    this.error = null;
    try {
      this.datasetId = await this.client.call((api) => api.ensureDemoDataset());
      this.status = 'saved';
    } catch (err) {
      this.error = `The demo dataset could not be saved: ${errorMessage(err)}`;
      this.status = 'error';
    }
  }
}
