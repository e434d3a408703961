// The GPU as the worker sees it: the adapter summary, or why there is none; and a later device loss.

import { callback, type StudioClient } from '../worker/client';
import type { GpuStatus } from '../worker/protocol';
import { errorMessage } from './errors';

export class GpuState {
  /** null until the worker has answered. */
  status = $state.raw<GpuStatus | null>(null);
  /** The worker could not be reached at all. */
  workerError = $state<string | null>(null);
  /** Set if the device is lost after it was acquired. */
  lostMessage = $state<string | null>(null);

  constructor(private readonly client: StudioClient) {}

  async load(): Promise<void> {
    try {
      const status = await this.client.call((api) => api.gpuStatus());
      this.status = status;
      if (status.kind === 'ready') {
        await this.client.call((api) => api.onDeviceLost(callback((message: string) => (this.lostMessage = message))));
      }
    } catch (err) {
      this.workerError = errorMessage(err);
    }
  }
}
