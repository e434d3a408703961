// A merged model as a Hugging Face folder: config.json (torch_dtype set to the export's), the weights as one
// model.safetensors or shards with model.safetensors.index.json, the tokenizer and generation files the base
// came with, and a model card. transformers' from_pretrained and Tunelab's own loader read it as a plain model.

import type { LoraAdapter } from '../lora/adapter';
import type { ModelFiles } from '../model/model-files';
import { jsonFile, textFile, type ExportFile } from './export-file';
import { mergedCheckpointTensors } from './merged-checkpoint';
import { modelCard, type ModelCardInfo } from './model-card';
import { planShards, safetensorsExportFile, shardFileName } from './safetensors-stream';
import type { FloatDtype } from './tensor-encode';

export type ExportDtype = 'f32' | 'f16' | 'bf16';

const SAFETENSORS_DTYPE: Record<ExportDtype, FloatDtype> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
const TORCH_DTYPE: Record<ExportDtype, string> = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' };

/** transformers' save_pretrained default max_shard_size ("5GB", decimal). */
export const DEFAULT_MAX_SHARD_BYTES = 5e9;

export interface HfExportOptions {
  dtype: ExportDtype;
  /** Data bytes per shard before the weights are split (default 5 GB). */
  maxShardBytes?: number;
  card: Omit<ModelCardInfo, 'contents'>;
}

/** config.json with the export's dtype (both the old and the new key, where the base used them). */
export function exportedConfig(raw: Record<string, unknown>, dtype: ExportDtype): Record<string, unknown> {
  const config: Record<string, unknown> = { ...raw, torch_dtype: TORCH_DTYPE[dtype] };
  if ('dtype' in raw) config.dtype = TORCH_DTYPE[dtype];
  return config;
}

/** generation_config.json as the base had it, or the token ids transformers would derive from config.json. */
export function generationConfigOf(files: ModelFiles): Record<string, unknown> {
  if (files.generationConfig) return files.generationConfig;
  const c = files.config;
  const gen: Record<string, unknown> = { _from_model_config: true };
  if (c.bosTokenId !== undefined) gen.bos_token_id = c.bosTokenId;
  if (c.eosTokenIds.length) gen.eos_token_id = c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds;
  if (c.padTokenId !== undefined) gen.pad_token_id = c.padTokenId;
  return gen;
}

/** The tokenizer files the base came with (what Tunelab reads; enough for transformers and transformers.js). */
export function tokenizerFiles(files: ModelFiles, dir = ''): ExportFile[] {
  const out: ExportFile[] = [];
  if (files.tokenizer) out.push(jsonFile(`${dir}tokenizer.json`, files.tokenizer));
  if (files.tokenizerConfig) out.push(jsonFile(`${dir}tokenizer_config.json`, files.tokenizerConfig));
  return out;
}

export function hfExportFiles(files: ModelFiles, adapter: LoraAdapter | undefined, options: HfExportOptions): ExportFile[] {
  const tensors = mergedCheckpointTensors(files.weights, adapter, SAFETENSORS_DTYPE[options.dtype]);
  const shards = planShards(tensors, options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES);
  const metadata = { format: 'pt' };
  const weights: ExportFile[] = [];
  if (shards.length === 1) {
    weights.push(safetensorsExportFile('model.safetensors', shards[0], metadata));
  } else {
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const name = shardFileName(i, shards.length);
      for (const t of shard) weightMap[t.name] = name;
      weights.push(safetensorsExportFile(name, shard, metadata));
    });
    const totalSize = tensors.reduce((n, t) => n + t.byteLength, 0);
    weights.push(jsonFile('model.safetensors.index.json', { metadata: { total_size: totalSize }, weight_map: weightMap }));
  }
  const contents = `merged weights (safetensors, ${options.dtype}${shards.length > 1 ? `, ${shards.length} shards` : ''})`;
  return [
    jsonFile('config.json', exportedConfig(files.rawConfig, options.dtype)),
    jsonFile('generation_config.json', generationConfigOf(files)),
    ...tokenizerFiles(files),
    ...weights,
    textFile('README.md', modelCard({ ...options.card, contents })),
  ];
}
