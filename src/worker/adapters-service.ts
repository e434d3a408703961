// The Adapters page's calls: saved adapters (from runs or imported) listed, renamed, deleted, exported as
// PEFT files, and imported from PEFT files after checking every key and shape against the loaded model.

import { importPeftAdapter, type PeftImport } from '../engine/lora/peft-files';
import { deleteAdapter, getAdapter, listAdapters, putAdapter, renameAdapter } from '../storage/adapters-store';
import type { AdapterRecord } from '../storage/records';
import { adapterSummary } from './adapter-summary';
import { checkUploadSizes, readPeftUpload, type UploadedFile } from './adapter-upload';
import type { ActiveModel } from './model-session';
import type { AdaptersApi } from './protocol-adapters';
import type { WorkerDeps } from './worker-deps';

function checkedName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw new Error('An adapter needs a name.');
  return trimmed;
}

/** Builds the adapter for the loaded model from its files: throws naming the key, field or shape that does not fit. */
function importChecked(active: ActiveModel, config: unknown, weights: Uint8Array, adapterName: string): PeftImport {
  try {
    return importPeftAdapter(config, weights, active.config.architecture, active.layout);
  } catch (err) {
    throw new Error(`The adapter "${adapterName}" does not fit the loaded model (${active.info.source}): ${(err as Error).message}`, { cause: err });
  }
}

/** The adapter for the loaded model from its files (importChecked's, without its notes). */
export function checkAdapterFits(active: ActiveModel, config: unknown, weights: Uint8Array, adapterName: string) {
  return importChecked(active, config, weights, adapterName).adapter;
}

/** The picked files' bytes, once their sizes are known to be within the limits (nothing read before). */
async function readFiles(files: readonly File[]): Promise<UploadedFile[]> {
  checkUploadSizes(files);
  return Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}

export function createAdaptersService(deps: WorkerDeps): AdaptersApi {
  return {
    async listAdapters() {
      return listAdapters(await deps.db(), adapterSummary);
    },

    async renameAdapter(id, name) {
      await renameAdapter(await deps.db(), id, checkedName(name));
    },

    async deleteAdapter(id) {
      await deleteAdapter(await deps.db(), id);
    },

    async exportAdapter(id) {
      const record = await getAdapter(await deps.db(), id);
      return {
        'adapter_config.json': `${JSON.stringify(record.config, null, 2)}\n`,
        'adapter_model.safetensors': record.weights,
      };
    },

    async importAdapter(files, name) {
      const adapterName = checkedName(name);
      const active = deps.models.active;
      if (!active) {
        throw new Error('Load the model this adapter was trained for first (Model page): an adapter is checked against the model it will run on.');
      }
      const upload = readPeftUpload(await readFiles(files));
      const { notes, warnings } = importChecked(active, upload.config, upload.weights, adapterName);
      const record: AdapterRecord = {
        id: crypto.randomUUID(),
        name: adapterName,
        createdAt: new Date().toISOString(),
        baseModel: active.info.source,
        config: upload.config as Record<string, unknown>,
        weights: upload.weights,
      };
      await putAdapter(await deps.db(), record);
      return { ...adapterSummary(record), notes, warnings };
    },
  };
}
