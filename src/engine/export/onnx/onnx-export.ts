// A model (with any adapter merged) as a folder that transformers.js and onnxruntime load: config.json (with
// transformers.js_config saying which dtype the folder holds and how many external data chunks it has),
// generation_config.json, the tokenizer files and onnx/model.onnx (fp32) or onnx/model_fp16.onnx.

import { mergeAdapter } from '../../lora/merge-weights';
import type { LoraAdapter } from '../../lora/adapter';
import type { ModelFiles } from '../../model/model-files';
import type { ModelWeights } from '../../model/weights';
import { jsonFile, textFile, type ExportFile } from '../export-file';
import { exportedConfig, generationConfigOf, tokenizerFiles } from '../hf-export';
import { modelCard, type ModelCardInfo } from '../model-card';
import { buildDecoderGraph, type OnnxPrecision } from './decoder-graph';
import { onnxModelFiles } from './onnx-file';

export interface OnnxExportOptions {
  precision: OnnxPrecision;
  producerVersion: string;
  card: Omit<ModelCardInfo, 'contents'>;
  /** Initializer bytes above which weights go to external data (default 2e9; tests lower it). */
  inlineLimitBytes?: number;
  externalChunkBytes?: number;
}

/** transformers.js's file name for a precision (utils/dtypes.js DEFAULT_DTYPE_SUFFIX_MAPPING). */
export function onnxFileName(precision: OnnxPrecision): string {
  return precision === 'fp16' ? 'model_fp16.onnx' : 'model.onnx';
}

export function onnxExportFiles(files: ModelFiles, weights: ModelWeights, adapter: LoraAdapter | undefined, options: OnnxExportOptions): ExportFile[] {
  const merged = adapter ? mergeAdapter(weights, adapter) : weights;
  const { graph } = buildDecoderGraph(files.config, merged, options.precision);
  const name = onnxFileName(options.precision);
  const onnx = onnxModelFiles(graph, {
    path: `onnx/${name}`,
    producerVersion: options.producerVersion,
    inlineLimitBytes: options.inlineLimitBytes,
    externalChunkBytes: options.externalChunkBytes,
    metadata: { base_model: options.card.baseModel, ...(options.card.training ? { adapter: options.card.training.adapterName } : {}) },
  });
  const config = exportedConfig(files.rawConfig, options.precision === 'fp16' ? 'f16' : 'f32');
  config['transformers.js_config'] = {
    dtype: options.precision,
    ...(onnx.externalChunks > 0 ? { use_external_data_format: { [name]: onnx.externalChunks } } : {}),
  };
  const contents = `an ONNX decoder with a KV cache (onnx/${name}, ${options.precision}${onnx.externalChunks ? `, ${onnx.externalChunks} external data file(s)` : ''}) for onnxruntime and transformers.js`;
  return [
    jsonFile('config.json', config),
    jsonFile('generation_config.json', generationConfigOf(files)),
    ...tokenizerFiles(files),
    ...onnx.files,
    textFile('README.md', modelCard({ ...options.card, contents })),
  ];
}
