// PEFT adapter folders on disk: adapter_config.json + adapter_model.safetensors (Node only).

import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoraAdapter } from '../engine/lora/adapter';
import { checkAdapterFileSize } from '../engine/lora/adapter-limits';
import { parseAdapterConfigBytes } from '../engine/lora/peft-config-text';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, adapterConfigJson, adapterWeightsBytes, importPeftAdapter, type PeftImport } from '../engine/lora/peft-files';
import type { Architecture } from '../engine/model/config';
import { ModelFormatError } from '../engine/model/errors';
import type { ModelWeights } from '../engine/model/weights';

/** A file of the adapter folder, its size checked against the limit before it is read. */
async function readOrExplain(dir: string, name: string): Promise<Uint8Array> {
  const path = join(dir, name);
  try {
    checkAdapterFileSize(path, name, (await stat(path)).size);
    const bytes = await readFile(path);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    if (err instanceof ModelFormatError) throw err;
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ModelFormatError(path, missing ? 'not found (an adapter folder holds adapter_config.json and adapter_model.safetensors)' : (err as Error).message);
  }
}

/** The adapter in `dir` checked against the model, with what the import applied and warned about (to print). */
export async function importAdapterDir(dir: string, architecture: Architecture, weights: ModelWeights): Promise<PeftImport> {
  const config = parseAdapterConfigBytes(await readOrExplain(dir, ADAPTER_CONFIG_FILE), join(dir, ADAPTER_CONFIG_FILE));
  return importPeftAdapter(config, await readOrExplain(dir, ADAPTER_WEIGHTS_FILE), architecture, weights);
}

export async function readAdapterDir(dir: string, architecture: Architecture, weights: ModelWeights): Promise<LoraAdapter> {
  return (await importAdapterDir(dir, architecture, weights)).adapter;
}

/** Writes both files through temporary names, so a crash never leaves half an adapter. */
export async function writeAdapterDir(dir: string, adapter: LoraAdapter, baseModel: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: [string, string | Uint8Array][] = [
    [ADAPTER_WEIGHTS_FILE, adapterWeightsBytes(adapter)],
    [ADAPTER_CONFIG_FILE, `${JSON.stringify(adapterConfigJson(adapter, baseModel), null, 2)}\n`],
  ];
  for (const [name, data] of files) {
    await writeFile(join(dir, `${name}.tmp`), data);
    await rename(join(dir, `${name}.tmp`), join(dir, name));
  }
}
