// Reads a Hugging Face model repository through a ModelSource: config.json, the weights (one
// model.safetensors or the shards of model.safetensors.index.json), and the tokenizer and generation files
// when present. Every failure names the file.

import { readModelConfig, type ModelConfig } from './config';
import { ModelFormatError } from './errors';
import { checkGenerationTokenIds } from './generation-options';
import { readSafetensors, type SafetensorsFile } from './safetensors';
import type { ModelSource, ProgressListener } from './source';

export interface ModelFiles {
  source: string;
  config: ModelConfig;
  /** config.json as parsed (for display and for export). */
  rawConfig: Record<string, unknown>;
  weights: SafetensorsFile[];
  /** tokenizer.json, when present. */
  tokenizer?: Record<string, unknown>;
  /** tokenizer_config.json, when present (chat_template, add_bos_token, special tokens). */
  tokenizerConfig?: Record<string, unknown>;
  /** generation_config.json, when present. */
  generationConfig?: Record<string, unknown>;
  /** Bytes read (weights and JSON). */
  bytes: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function parseJsonFile(bytes: Uint8Array, file: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new ModelFormatError(file, `is not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFormatError(file, 'must be a JSON object');
  return json as Record<string, unknown>;
}

async function required(source: ModelSource, name: string, onProgress?: ProgressListener): Promise<Uint8Array> {
  const bytes = await source.read(name, onProgress);
  if (!bytes) throw new ModelFormatError(name, `not found in ${source.id}`);
  return bytes;
}

async function optionalJson(source: ModelSource, name: string, onProgress?: ProgressListener) {
  const bytes = await source.read(name, onProgress);
  return bytes ? parseJsonFile(bytes, name) : undefined;
}

/** Shard file names of a model.safetensors.index.json, in first-use order. */
export function shardNames(index: Record<string, unknown>, file = 'model.safetensors.index.json'): string[] {
  const map = index.weight_map;
  if (typeof map !== 'object' || map === null) throw new ModelFormatError(file, 'has no "weight_map" object');
  const names = new Set<string>();
  for (const [tensor, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard.includes('/') || shard.includes('..')) {
      throw new ModelFormatError(file, `weight_map["${tensor}"] is not a shard file name`);
    }
    names.add(shard);
  }
  if (names.size === 0) throw new ModelFormatError(file, 'weight_map is empty');
  return [...names];
}

export async function loadModelFiles(source: ModelSource, onProgress?: ProgressListener): Promise<ModelFiles> {
  let bytes = 0;
  const configBytes = await required(source, 'config.json', onProgress);
  bytes += configBytes.byteLength;
  const rawConfig = parseJsonFile(configBytes, 'config.json');
  const config = readModelConfig(JSON.stringify(rawConfig), 'config.json');

  const tokenizer = await optionalJson(source, 'tokenizer.json', onProgress);
  const tokenizerConfig = await optionalJson(source, 'tokenizer_config.json', onProgress);
  const generationConfig = await optionalJson(source, 'generation_config.json', onProgress);
  checkGenerationTokenIds(generationConfig, config.vocabSize);

  const weights: SafetensorsFile[] = [];
  const single = await source.read('model.safetensors', onProgress);
  if (single) {
    weights.push(readSafetensors(single, 'model.safetensors'));
    bytes += single.byteLength;
  } else {
    const index = await optionalJson(source, 'model.safetensors.index.json', onProgress);
    if (!index) {
      throw new ModelFormatError('model.safetensors', `not found in ${source.id} (nor model.safetensors.index.json); only safetensors weights are supported`);
    }
    for (const shard of shardNames(index)) {
      const data = await required(source, shard, onProgress);
      weights.push(readSafetensors(data, shard));
      bytes += data.byteLength;
    }
  }
  return { source: source.id, config, rawConfig, weights, tokenizer, tokenizerConfig, generationConfig, bytes };
}
