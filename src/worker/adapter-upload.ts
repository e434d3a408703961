// What the user gave to import an adapter: the two PEFT files, or a .zip holding them (at its top or in one
// folder, as PEFT's save_pretrained folder zipped). Finds the two files or says exactly what is missing.

import { unzipSync } from 'fflate';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from '../engine/lora/peft-files';
import { ModelFormatError } from '../engine/model/errors';

export interface UploadedFile {
  name: string;
  bytes: Uint8Array;
}

export interface PeftUpload {
  /** adapter_config.json, parsed. */
  config: unknown;
  weights: Uint8Array;
}

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

function unzip(file: UploadedFile): UploadedFile[] {
  let entries: Record<string, Uint8Array>;
  try {
    // Only the two files PEFT writes are inflated; anything else in the archive is skipped unread.
    entries = unzipSync(file.bytes, { filter: (f) => [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE].includes(baseName(f.name)) });
  } catch (err) {
    throw new ModelFormatError(file.name, `is not a readable .zip archive (${(err as Error).message})`);
  }
  return Object.entries(entries).map(([name, bytes]) => ({ name, bytes }));
}

/** The one file called `name` (by base name), or a message naming what is missing or repeated. */
function one(files: readonly UploadedFile[], name: string, where: string): Uint8Array {
  const found = files.filter((f) => baseName(f.name) === name);
  if (found.length === 0) throw new ModelFormatError(name, `not found in ${where}: a PEFT adapter is ${ADAPTER_CONFIG_FILE} plus ${ADAPTER_WEIGHTS_FILE}`);
  if (found.length > 1) throw new ModelFormatError(name, `appears ${found.length} times in ${where} (${found.map((f) => f.name).join(', ')}); give one adapter at a time`);
  return found[0].bytes;
}

function parseConfig(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ModelFormatError(ADAPTER_CONFIG_FILE, 'is not UTF-8 text');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelFormatError(ADAPTER_CONFIG_FILE, `is not valid JSON (${(err as Error).message})`);
  }
}

export function readPeftUpload(files: readonly UploadedFile[]): PeftUpload {
  if (files.length === 0) throw new Error(`No files given: pick ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE}, or a .zip holding them.`);
  const zips = files.filter((f) => f.name.toLowerCase().endsWith('.zip'));
  if (zips.length > 1) throw new Error(`${zips.length} .zip files given: import one adapter at a time.`);
  if (zips.length === 1 && files.length > 1) throw new Error(`Give either one .zip or the two adapter files, not both (${files.map((f) => f.name).join(', ')}).`);
  const contents = zips.length === 1 ? unzip(zips[0]) : files;
  const where = zips.length === 1 ? zips[0].name : `the ${files.length} picked file${files.length === 1 ? '' : 's'}`;
  const config = parseConfig(one(contents, ADAPTER_CONFIG_FILE, where));
  return { config, weights: one(contents, ADAPTER_WEIGHTS_FILE, where) };
}
