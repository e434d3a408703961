// What the user gave to import an adapter: the two PEFT files, or a .zip holding them (at its top or in one
// folder, as PEFT's save_pretrained folder zipped). Finds the two files or says exactly what is missing.
// Sizes are judged before anything is read: each picked file's size (checkUploadSizes, also before the
// browser reads the files), and in a .zip each wanted entry's declared size, before it is inflated. Only the
// two PEFT entries are ever inflated, each into at most its own limit, so together at most the upload limit.

import { adapterFileLimit, checkAdapterFileSize, MAX_ADAPTER_UPLOAD_BYTES } from '../engine/lora/adapter-limits';
import { describeBytes } from '../engine/util/bytes';
import { parseAdapterConfigBytes } from '../engine/lora/peft-config-text';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from '../engine/lora/peft-files';
import { ModelFormatError } from '../engine/model/errors';
import { readZipDirectory, readZipEntry, type ZipEntry } from './zip-directory';

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
const isZip = (name: string) => name.toLowerCase().endsWith('.zip');

/** Refuses, from sizes alone, a pick whose files or total exceed the limits (naming the file, its size and the limit). */
export function checkUploadSizes(files: readonly { name: string; size: number }[]): void {
  for (const f of files) checkAdapterFileSize(f.name, baseName(f.name), f.size);
  const total = files.reduce((n, f) => n + f.size, 0);
  if (total > MAX_ADAPTER_UPLOAD_BYTES) {
    throw new Error(`The ${files.length} picked files are ${describeBytes(total)} together, over the ${describeBytes(MAX_ADAPTER_UPLOAD_BYTES)} limit for an adapter upload.`);
  }
}

/** The one item called `name` (by base name), or a message naming what is missing or repeated. */
function one<T extends { name: string }>(items: readonly T[], name: string, where: string): T {
  const found = items.filter((f) => baseName(f.name) === name);
  if (found.length === 0) throw new ModelFormatError(name, `not found in ${where}: a PEFT adapter is ${ADAPTER_CONFIG_FILE} plus ${ADAPTER_WEIGHTS_FILE}`);
  if (found.length > 1) throw new ModelFormatError(name, `appears ${found.length} times in ${where} (${found.map((f) => f.name).join(', ')}); give one adapter at a time`);
  return found[0];
}

/** The two PEFT files of a .zip: both found and their declared sizes checked before either is inflated. */
function unzipPeft(zip: UploadedFile): { config: Uint8Array; weights: Uint8Array } {
  const entries = readZipDirectory(zip.bytes, zip.name);
  const wanted: ZipEntry[] = [one(entries, ADAPTER_CONFIG_FILE, zip.name), one(entries, ADAPTER_WEIGHTS_FILE, zip.name)];
  for (const entry of wanted) {
    const limit = adapterFileLimit(baseName(entry.name));
    if (entry.size > limit.bytes) {
      throw new ModelFormatError(
        zip.name,
        `entry "${entry.name}" declares ${describeBytes(entry.size)} uncompressed, over the ${describeBytes(limit.bytes)} limit for ${limit.what}; nothing was inflated`,
      );
    }
  }
  const [config, weights] = wanted.map((entry) => readZipEntry(zip.bytes, entry, zip.name));
  return { config, weights };
}

export function readPeftUpload(files: readonly UploadedFile[]): PeftUpload {
  if (files.length === 0) throw new Error(`No files given: pick ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE}, or a .zip holding them.`);
  const zips = files.filter((f) => isZip(f.name));
  if (zips.length > 1) throw new Error(`${zips.length} .zip files given: import one adapter at a time.`);
  if (zips.length === 1 && files.length > 1) throw new Error(`Give either one .zip or the two adapter files, not both (${files.map((f) => f.name).join(', ')}).`);
  checkUploadSizes(files.map((f) => ({ name: f.name, size: f.bytes.length })));
  if (zips.length === 1) {
    const { config, weights } = unzipPeft(zips[0]);
    return { config: parseAdapterConfigBytes(config, ADAPTER_CONFIG_FILE), weights };
  }
  const where = `the ${files.length} picked file${files.length === 1 ? '' : 's'}`;
  const config = parseAdapterConfigBytes(one(files, ADAPTER_CONFIG_FILE, where).bytes, ADAPTER_CONFIG_FILE);
  return { config, weights: one(files, ADAPTER_WEIGHTS_FILE, where).bytes };
}
