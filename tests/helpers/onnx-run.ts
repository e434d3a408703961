// Runs an exported ONNX decoder with onnxruntime-node the way transformers.js drives it: the prompt with an
// empty cache, then one token at a time through the returned present.N.key/value tensors.

import * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../../src/engine/model/config';

export interface OnnxRun {
  /** Logits of every position fed, prompt then decode steps, each (V). */
  logits: Float32Array[];
  /** Greedy tokens after the prompt. */
  tokens: number[];
}

export async function openSession(path: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, { logSeverityLevel: 3 });
}

const int64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** An empty cache for `batch` rows: (batch, Hkv, 0, D) per layer, f32 or f16. */
export function emptyCache(config: ModelConfig, batch: number, fp16Cache: boolean): Record<string, ort.Tensor> {
  const past: Record<string, ort.Tensor> = {};
  const dims = [batch, config.numKvHeads, 0, config.headDim];
  for (let l = 0; l < config.numLayers; l++) {
    for (const kind of ['key', 'value']) {
      past[`past_key_values.${l}.${kind}`] = fp16Cache ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
    }
  }
  return past;
}

/**
 * Feeds `prompt` (batch 1), then `steps` tokens one at a time through the cache: the argmax of the last
 * logits (greedy), or `forced[step]` when given. `fp16Cache` when the model keeps its cache in float16.
 */
export async function runDecode(
  session: ort.InferenceSession,
  config: ModelConfig,
  prompt: number[],
  steps: number,
  options: { fp16Cache?: boolean; forced?: number[] } = {},
): Promise<OnnxRun> {
  const V = config.vocabSize;
  let past = emptyCache(config, 1, options.fp16Cache ?? false);
  const logits: Float32Array[] = [];
  const tokens: number[] = [];
  let input = prompt;
  let position = 0;
  for (let step = 0; step <= steps; step++) {
    const T = input.length;
    const feeds = {
      input_ids: int64(input, [1, T]),
      attention_mask: int64(new Array(position + T).fill(1), [1, position + T]),
      position_ids: int64(Array.from({ length: T }, (_, t) => position + t), [1, T]),
      ...past,
    };
    const out = await session.run(feeds);
    const data = out.logits.data as Float32Array;
    for (let t = 0; t < T; t++) logits.push(data.slice(t * V, (t + 1) * V));
    past = {};
    for (let l = 0; l < config.numLayers; l++) {
      past[`past_key_values.${l}.key`] = out[`present.${l}.key`];
      past[`past_key_values.${l}.value`] = out[`present.${l}.value`];
    }
    position += T;
    if (step === steps) break;
    const next = options.forced?.[step] ?? argmax(logits[logits.length - 1]);
    tokens.push(next);
    input = [next];
  }
  return { logits, tokens };
}

/**
 * One left-padded batch: each row's ids padded on the left to the longest, attention_mask 0 on the padding
 * and position_ids as transformers.js makes them (cumsum(mask) - 1, 1 where masked). Returns each row's
 * logits at its real positions.
 */
export async function runPaddedBatch(session: ort.InferenceSession, config: ModelConfig, rows: number[][], pad: number): Promise<Float32Array[][]> {
  const V = config.vocabSize;
  const T = Math.max(...rows.map((r) => r.length));
  const ids: number[] = [];
  const mask: number[] = [];
  const positions: number[] = [];
  for (const row of rows) {
    const padding = T - row.length;
    ids.push(...new Array(padding).fill(pad), ...row);
    mask.push(...new Array(padding).fill(0), ...new Array(row.length).fill(1));
    positions.push(...new Array(padding).fill(1), ...row.map((_, t) => t));
  }
  const out = await session.run({
    input_ids: int64(ids, [rows.length, T]),
    attention_mask: int64(mask, [rows.length, T]),
    position_ids: int64(positions, [rows.length, T]),
    ...emptyCache(config, rows.length, false),
  });
  const data = out.logits.data as Float32Array;
  return rows.map((row, b) => row.map((_, t) => data.slice((b * T + T - row.length + t) * V, (b * T + T - row.length + t + 1) * V)));
}
