// Everything the Data page holds: the import in progress, the saved datasets, and the one being previewed.

import type { StudioClient } from '../worker/client';
import { DataImportState } from './data-import.svelte';
import { DataLibraryState } from './data-library.svelte';
import { DataPreviewState } from './data-preview.svelte';

export class DataPageState {
  readonly library: DataLibraryState;
  readonly preview: DataPreviewState;
  readonly importer: DataImportState;

  /** The dataset shown in the preview, while it is still in the list. */
  readonly selected = $derived.by(() => this.library.find(this.preview.datasetId));

  constructor(client: StudioClient) {
    this.library = new DataLibraryState(client);
    this.preview = new DataPreviewState(client);
    // A dataset just saved goes to the top of the list and into the preview.
    this.importer = new DataImportState(client, (summary) => {
      this.library.added(summary);
      this.preview.select(summary.id);
    });
  }

  start(): void {
    void this.library.refresh();
  }
}
