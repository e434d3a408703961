// The memory estimate of the loaded model for a sequence length, batch and (for training) LoRA rank,
// computed in the worker against the device's buffer limits.

import type { StudioClient } from '../worker/client';
import type { LoadedModelInfo, LoraTargets, MemoryReport, MemoryRequest } from '../worker/protocol';
import { errorMessage } from './errors';

export class MemoryState {
  seqLen = $state(1024);
  batch = $state(1);
  training = $state(false);
  loraRank = $state(8);
  loraTargets = $state<LoraTargets>('all-linear');

  report = $state.raw<MemoryReport | null>(null);
  error = $state<string | null>(null);

  private requestId = 0;

  constructor(private readonly client: StudioClient) {}

  /** The settings as the worker takes them. */
  readonly request: MemoryRequest = $derived({
    seqLen: this.seqLen,
    batch: this.batch,
    training: this.training ? { loraRank: this.loraRank, targets: this.loraTargets } : null,
  });

  /** A new model (or none): drop the old estimate and start at a sequence length the model supports. */
  reset(model: LoadedModelInfo | null): void {
    this.requestId++;
    this.report = null;
    this.error = null;
    if (model) this.seqLen = Math.min(model.config.maxPositions, 1024);
  }

  /** Estimates the loaded model at `request`; answers to older requests are dropped. */
  async update(request: MemoryRequest): Promise<void> {
    const id = ++this.requestId;
    try {
      const report = await this.client.call((api) => api.estimateMemory(request));
      if (id !== this.requestId) return;
      this.report = report;
      this.error = null;
    } catch (err) {
      if (id !== this.requestId) return;
      this.report = null;
      this.error = errorMessage(err);
    }
  }
}
