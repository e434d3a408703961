// The Device page's matmul tuning: what the worker uses now, and measuring it again with progress. While
// the worker measures on its own (before the first training run) the status is read again every second.

import { callback, type StudioClient } from '../worker/client';
import type { MatmulTuneProgress, MatmulTuningStatus } from '../worker/protocol-matmul-tuning';
import { errorMessage } from './errors';

const POLL_MS = 1000;

export class MatmulTuningState {
  status = $state.raw<MatmulTuningStatus | null>(null);
  /** The last load or re-tune failed. */
  error = $state<string | null>(null);
  retuning = $state(false);
  progress = $state.raw<MatmulTuneProgress | null>(null);

  private polling: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly client: StudioClient) {}

  async load(): Promise<void> {
    clearTimeout(this.polling);
    try {
      this.status = await this.client.call((api) => api.matmulTuning());
      this.error = null;
      if (this.status.state === 'measuring' && !this.retuning) this.polling = setTimeout(() => void this.load(), POLL_MS);
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  async retune(): Promise<void> {
    if (this.retuning) return;
    this.retuning = true;
    this.error = null;
    this.progress = null;
    const onProgress = callback((p: MatmulTuneProgress) => {
      if (this.retuning) this.progress = p;
    });
    try {
      this.status = await this.client.call((api) => api.retuneMatmul(onProgress));
    } catch (err) {
      this.error = errorMessage(err);
      await this.load();
    } finally {
      this.retuning = false;
      this.progress = null;
    }
  }
}
