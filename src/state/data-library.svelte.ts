// The saved datasets: listed from IndexedDB through the worker, renamed, re-split and deleted. A failed
// change says why and leaves the list as the worker has it.

import type { StudioClient } from '../worker/client';
import type { DatasetSummary } from '../worker/protocol-datasets';
import { errorMessage } from './errors';

export class DataLibraryState {
  /** null until the first list arrives. */
  datasets = $state.raw<DatasetSummary[] | null>(null);
  error = $state<string | null>(null);
  /** The dataset a change is being written for. */
  busyId = $state<string | null>(null);

  constructor(private readonly client: StudioClient) {}

  async refresh(): Promise<void> {
    try {
      this.datasets = await this.client.call((api) => api.listDatasets());
    } catch (err) {
      this.error = `The saved datasets could not be read: ${errorMessage(err)}`;
    }
  }

  find(id: string | null): DatasetSummary | undefined {
    return id === null ? undefined : this.datasets?.find((d) => d.id === id);
  }

  /** A dataset just saved: first in the list. */
  added(summary: DatasetSummary): void {
    this.datasets = [summary, ...(this.datasets ?? []).filter((d) => d.id !== summary.id)];
  }

  rename(id: string, name: string): Promise<boolean> {
    return this.change(id, async () => {
      await this.client.call((api) => api.renameDataset(id, name));
    });
  }

  setSplit(id: string, split: { evalFraction: number; seed: number }): Promise<boolean> {
    return this.change(id, async () => {
      await this.client.call((api) => api.setDatasetSplit(id, split));
    });
  }

  remove(id: string): Promise<boolean> {
    return this.change(id, async () => {
      await this.client.call((api) => api.deleteDataset(id));
    });
  }

  /** Runs one change, then lists again (another tab may have changed the store too). */
  private async change(id: string, write: () => Promise<void>): Promise<boolean> {
    if (this.busyId) return false;
    this.busyId = id;
    this.error = null;
    let ok = true;
    try {
      await write();
    } catch (err) {
      this.error = errorMessage(err);
      ok = false;
    } finally {
      this.busyId = null;
    }
    await this.refresh();
    return ok;
  }
}
