// Reads an exported ONNX folder from its files (Blobs by path): config.json, the generation and tokenizer
// files the export copied from the base, the model file and its external data chunks. What the engine's
// generation needs comes from these files alone, as it would for anyone loading the downloaded folder.

import { readModelConfig, type ModelConfig } from '../engine/model/config';
import { ModelFormatError } from '../engine/model/errors';
import { checkGenerationTokenIds } from '../engine/model/generation-options';

type Json = Record<string, unknown>;

export interface ExportedFolder {
  config: ModelConfig;
  generationConfig?: Json;
  tokenizer?: Json;
  tokenizerConfig?: Json;
  /** The .onnx file's bytes. */
  model: Uint8Array;
  /** External data chunks, by the location the model's tensors name (relative to the model file). */
  externalData: { path: string; data: Uint8Array }[];
}

async function jsonFile(files: Record<string, Blob>, path: string): Promise<Json | undefined> {
  const blob = files[path];
  if (!blob) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await blob.text());
  } catch (err) {
    throw new ModelFormatError(path, `is not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFormatError(path, 'must be a JSON object');
  return json as Json;
}

const bytesOf = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer());

/**
 * The folder's files read for a session: `modelPath` (e.g. "onnx/model.onnx") and every file beside it named
 * `<model file>_data` or `<model file>_data_N`, the chunk names the export writes (onnx-file.ts).
 */
export async function readExportedFolder(files: Record<string, Blob>, modelPath: string): Promise<ExportedFolder> {
  const configJson = await jsonFile(files, 'config.json');
  if (!configJson) throw new ModelFormatError('config.json', 'is missing from the exported folder');
  const config = readModelConfig(JSON.stringify(configJson), 'config.json');
  const modelBlob = files[modelPath];
  if (!modelBlob) throw new ModelFormatError(modelPath, 'is missing from the exported folder');
  const slash = modelPath.lastIndexOf('/');
  const dir = modelPath.slice(0, slash + 1);
  const fileName = modelPath.slice(slash + 1);
  const chunk = new RegExp(`^${fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_data(_\\d+)?$`);
  const externalData: ExportedFolder['externalData'] = [];
  for (const [path, blob] of Object.entries(files)) {
    if (!path.startsWith(dir) || !chunk.test(path.slice(dir.length))) continue;
    externalData.push({ path: path.slice(dir.length), data: await bytesOf(blob) });
  }
  const generationConfig = await jsonFile(files, 'generation_config.json');
  checkGenerationTokenIds(generationConfig, config.vocabSize);
  return {
    config,
    generationConfig,
    tokenizer: await jsonFile(files, 'tokenizer.json'),
    tokenizerConfig: await jsonFile(files, 'tokenizer_config.json'),
    model: await bytesOf(modelBlob),
    externalData,
  };
}
