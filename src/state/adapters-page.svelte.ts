// The Adapters page: saved adapters with the run that trained them, renamed, deleted, downloaded as PEFT
// files (separately or zipped here with fflate) and imported from PEFT files.

import type { StudioClient } from '../worker/client';
import type { AdapterSummary, ImportedAdapter } from '../worker/protocol-adapters';
import { fileSafeName, zipPeftFiles } from './adapters-zip';
import { errorMessage } from './errors';

export type AdapterDownload = 'zip' | 'adapter_config.json' | 'adapter_model.safetensors';

export interface DownloadFile {
  fileName: string;
  blob: Blob;
}

export class AdaptersPageState {
  adapters = $state.raw<AdapterSummary[]>([]);
  /** Run id -> run name, for "from run ..." (empty when runs cannot be listed). */
  runNames = $state.raw<Record<string, string>>({});
  loaded = $state(false);
  /** An action that failed (list, rename, delete, download), said for the person. */
  error = $state<string | null>(null);
  busy = $state(false);

  importing = $state(false);
  importError = $state<string | null>(null);
  /** The adapter the last import saved. */
  imported = $state.raw<ImportedAdapter | null>(null);

  constructor(private readonly client: StudioClient) {}

  async refresh(): Promise<void> {
    try {
      this.adapters = await this.client.call((api) => api.listAdapters());
      this.error = null;
    } catch (err) {
      this.error = `The saved adapters could not be read: ${errorMessage(err)}`;
    } finally {
      this.loaded = true;
    }
    try {
      const runs = await this.client.call((api) => api.listRuns());
      this.runNames = Object.fromEntries(runs.map((r) => [r.id, r.name]));
    } catch {
      this.runNames = {}; // the runs are optional here: the adapter still lists
    }
  }

  /** True when renamed (the page then leaves its rename form). */
  rename(id: string, name: string): Promise<boolean> {
    return this.act(() => this.client.call((api) => api.renameAdapter(id, name)));
  }

  remove(id: string): Promise<boolean> {
    return this.act(() => this.client.call((api) => api.deleteAdapter(id)));
  }

  /** The file to save for a download, or null (the error is shown) when the adapter cannot be read. */
  async download(adapter: AdapterSummary, what: AdapterDownload): Promise<DownloadFile | null> {
    try {
      const files = await this.client.call((api) => api.exportAdapter(adapter.id));
      this.error = null;
      if (what === 'zip') {
        const zip = zipPeftFiles(files);
        return { fileName: `${fileSafeName(adapter.name)}.zip`, blob: new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }) };
      }
      if (what === 'adapter_config.json') return { fileName: what, blob: new Blob([files[what]], { type: 'application/json' }) };
      return { fileName: what, blob: new Blob([files[what] as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }) };
    } catch (err) {
      this.error = `Downloading “${adapter.name}” failed: ${errorMessage(err)}`;
      return null;
    }
  }

  /** Imports PEFT files (the two files or one .zip); true when saved. */
  async importFiles(files: File[], name: string): Promise<boolean> {
    if (this.importing) return false;
    this.importing = true;
    this.importError = null;
    this.imported = null;
    try {
      this.imported = await this.client.call((api) => api.importAdapter(files, name));
      await this.refresh();
      return true;
    } catch (err) {
      this.importError = errorMessage(err);
      return false;
    } finally {
      this.importing = false;
    }
  }

  private async act(action: () => Promise<void>): Promise<boolean> {
    this.busy = true;
    try {
      await action();
      this.error = null;
      await this.refresh();
      return true;
    } catch (err) {
      this.error = errorMessage(err);
      return false;
    } finally {
      this.busy = false;
    }
  }
}

/** The name an import proposes: the .zip's name, else the picked folder's, else a plain default. */
export function proposedImportName(files: readonly File[]): string {
  const zip = files.find((f) => f.name.toLowerCase().endsWith('.zip'));
  if (zip) return zip.name.replace(/\.zip$/i, '');
  const folder = files.find((f) => f.webkitRelativePath)?.webkitRelativePath.split('/')[0];
  return folder || 'imported adapter';
}
