// One saved dataset rendered for the loaded model, a few examples (or preference pairs) at a time, token by
// token with the trained tokens marked.

import type { StudioClient } from '../worker/client';
import type { LoadedModelInfo } from '../worker/protocol';
import type { DatasetPreviewPage } from '../worker/protocol-datasets';
import { errorMessage } from './errors';

export const PREVIEW_PAGE = 3;

export class DataPreviewState {
  datasetId = $state<string | null>(null);
  /** Index of the first example shown. */
  start = $state(0);
  maxLength = $state(256);

  previews = $state.raw<DatasetPreviewPage | null>(null);
  /** The model the previews were rendered with. */
  renderedWith = $state.raw<LoadedModelInfo | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);

  private renderId = 0;

  constructor(private readonly client: StudioClient) {}

  select(id: string | null): void {
    if (id === this.datasetId) return;
    this.datasetId = id;
    this.start = 0;
    this.previews = null;
    this.error = null;
  }

  /** Moves to another page of examples, kept inside [0, examples). */
  page(delta: number, examples: number): void {
    const last = Math.max(0, examples - 1);
    this.start = Math.min(last - (last % PREVIEW_PAGE), Math.max(0, this.start + delta * PREVIEW_PAGE));
  }

  setMaxLength(value: number): void {
    if (Number.isInteger(value) && value >= 2) this.maxLength = value;
    else this.error = 'The maximum length must be a whole number of at least 2.';
  }

  /** Renders the current page with `model` (nothing to render without one). */
  async render(model: LoadedModelInfo | null): Promise<void> {
    const renderId = ++this.renderId;
    const id = this.datasetId;
    this.previews = null;
    this.error = null;
    this.renderedWith = null;
    if (!id || !model) {
      this.loading = false;
      return;
    }
    this.loading = true;
    const { start, maxLength } = this;
    try {
      const previews = await this.client.call((api) => api.previewDataset(id, start, PREVIEW_PAGE, maxLength));
      if (renderId !== this.renderId) return;
      this.previews = previews;
      this.renderedWith = model;
    } catch (err) {
      if (renderId === this.renderId) this.error = errorMessage(err);
    } finally {
      if (renderId === this.renderId) this.loading = false;
    }
  }
}
