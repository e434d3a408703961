// A safetensors file written as a stream: the header is computed from the tensors' shapes and dtypes alone,
// then each tensor's bytes are made when the writer reaches it, so no file ever exists whole in memory.

import { safetensorsHeaderBytes, type SafetensorsDtype } from '../model/safetensors';
import type { ExportFile } from './export-file';

export interface StreamTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** Exact bytes of the tensor's data. */
  byteLength: number;
  /** The data in order, in as many slices as suits the producer. */
  chunks(): Iterable<Uint8Array>;
}

export function safetensorsExportFile(path: string, tensors: readonly StreamTensor[], metadata: Record<string, string>): ExportFile {
  const header = safetensorsHeaderBytes(tensors, metadata);
  const dataBytes = tensors.reduce((n, t) => n + t.byteLength, 0);
  return {
    path,
    size: header.byteLength + dataBytes,
    async *chunks() {
      yield header;
      for (const t of tensors) {
        let written = 0;
        for (const chunk of t.chunks()) {
          written += chunk.byteLength;
          yield chunk;
        }
        if (written !== t.byteLength) throw new RangeError(`${path}: tensor "${t.name}" gave ${written} bytes, ${t.byteLength} expected`);
      }
    },
  };
}

/** Hugging Face's shard name: model-00001-of-00003.safetensors. */
export function shardFileName(index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/**
 * Splits tensors into shards of at most `maxShardBytes` data bytes (a tensor larger than that gets a shard
 * of its own), in order, as transformers' save_pretrained does (modeling_utils, max_shard_size).
 */
export function planShards<T extends { byteLength: number }>(tensors: readonly T[], maxShardBytes: number): T[][] {
  const shards: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const t of tensors) {
    if (current.length > 0 && bytes + t.byteLength > maxShardBytes) {
      shards.push(current);
      current = [];
      bytes = 0;
    }
    current.push(t);
    bytes += t.byteLength;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}
