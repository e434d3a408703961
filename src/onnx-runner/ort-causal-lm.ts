// The engine's CausalLm interface over an onnxruntime-web session of an exported decoder, so the engine's own
// generate() (prompt ids, sampling, stop tokens, streamed text) drives the export exactly as it drives the GPU
// model. Each sequence keeps its KV cache as the session's present.N.key/value tensors and feeds them back as
// past_key_values.N.key/value, the loop transformers.js runs (models/modeling_utils.js): input_ids (1, T),
// attention_mask (1, P + T) of ones, position_ids P .. P + T - 1.

import type * as Ort from 'onnxruntime-web/webgpu';
import { checkExtendRequest, type CausalLm, type ExtendRequest, type LogitsWanted, type SequenceState } from '../engine/model/causal-lm';
import type { ModelConfig } from '../engine/model/config';

type OrtModule = typeof import('onnxruntime-web/webgpu');

export type CacheType = 'float32' | 'float16';

class OrtSequence implements SequenceState {
  length = 0;
  released = false;
  /** past_key_values.N.key/value by input name: (1, Hkv, length, D). */
  cache: Record<string, Ort.Tensor>;

  constructor(
    readonly capacity: number,
    cache: Record<string, Ort.Tensor>,
  ) {
    this.cache = cache;
  }
}

/** The input names of layer l's cache and the output names that replace them. */
const pastName = (l: number, kind: 'key' | 'value') => `past_key_values.${l}.${kind}`;
const presentName = (l: number, kind: 'key' | 'value') => `present.${l}.${kind}`;

/** What the session must declare to be driven this way; the message names the missing input or output. */
export function checkDecoderSession(session: Ort.InferenceSession, config: ModelConfig, modelPath: string): CacheType {
  const need = (names: readonly string[], name: string, what: string) => {
    if (!names.includes(name)) throw new Error(`${modelPath}: the model has no ${what} "${name}" (a decoder with a KV cache in Optimum's layout is expected)`);
  };
  for (const name of ['input_ids', 'attention_mask', 'position_ids']) need(session.inputNames, name, 'input');
  need(session.outputNames, 'logits', 'output');
  for (let l = 0; l < config.numLayers; l++) {
    for (const kind of ['key', 'value'] as const) {
      need(session.inputNames, pastName(l, kind), 'input');
      need(session.outputNames, presentName(l, kind), 'output');
    }
  }
  const meta = session.inputMetadata.find((m) => m.name === pastName(0, 'key'));
  const type = meta?.isTensor ? meta.type : 'float32';
  if (type !== 'float32' && type !== 'float16') throw new Error(`${modelPath}: past_key_values.0.key is ${type}; float32 or float16 is expected`);
  return type;
}

export class OrtCausalLm implements CausalLm {
  constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    readonly config: ModelConfig,
    private readonly cacheType: CacheType,
  ) {}

  /** (1, Hkv, 0, D) per layer: the cache before the prompt. */
  private emptyCache(): Record<string, Ort.Tensor> {
    const { numLayers, numKvHeads, headDim } = this.config;
    const dims = [1, numKvHeads, 0, headDim];
    const cache: Record<string, Ort.Tensor> = {};
    for (let l = 0; l < numLayers; l++) {
      for (const kind of ['key', 'value'] as const) {
        cache[pastName(l, kind)] =
          this.cacheType === 'float16' ? new this.ort.Tensor('float16', new Uint16Array(0), dims) : new this.ort.Tensor('float32', new Float32Array(0), dims);
      }
    }
    return cache;
  }

  createSequence(capacity: number): SequenceState {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > this.config.maxPositions) {
      throw new RangeError(`createSequence: capacity ${capacity} is outside 1..${this.config.maxPositions}`);
    }
    return new OrtSequence(capacity, this.emptyCache());
  }

  private own(sequence: SequenceState): OrtSequence {
    if (!(sequence instanceof OrtSequence) || sequence.released) throw new Error('extend: the sequence was not made by this model or was released');
    return sequence;
  }

  /** One session run per request (batch 1 each): the export's shapes are dynamic, but rows share no cache. */
  async extend(requests: readonly ExtendRequest[], wanted: LogitsWanted): Promise<Float32Array[]> {
    const sequences = requests.map((r, i) => {
      const s = this.own(r.sequence);
      checkExtendRequest(this.config, r, i, s);
      return s;
    });
    const out: Float32Array[] = [];
    for (const [i, request] of requests.entries()) out.push(await this.runOne(sequences[i], Array.from(request.tokens), wanted));
    return out;
  }

  private async runOne(sequence: OrtSequence, tokens: number[], wanted: LogitsWanted): Promise<Float32Array> {
    const { Tensor } = this.ort;
    const T = tokens.length;
    const P = sequence.length;
    const int64 = (values: number[]) => BigInt64Array.from(values, (v) => BigInt(v));
    const feeds: Record<string, Ort.Tensor> = {
      input_ids: new Tensor('int64', int64(tokens), [1, T]),
      attention_mask: new Tensor('int64', new BigInt64Array(P + T).fill(1n), [1, P + T]),
      position_ids: new Tensor('int64', int64(tokens.map((_, t) => P + t)), [1, T]),
      ...sequence.cache,
    };
    const results = await this.session.run(feeds);
    const logits = results.logits;
    // (1, T, V) f32: the export's logits are f32 at either precision.
    const data = (await logits.getData()) as Float32Array;
    const V = this.config.vocabSize;
    const rows = wanted === 'last' ? data.slice((T - 1) * V, T * V) : data.slice(0, T * V);
    logits.dispose();
    const next: Record<string, Ort.Tensor> = {};
    for (let l = 0; l < this.config.numLayers; l++) {
      for (const kind of ['key', 'value'] as const) next[pastName(l, kind)] = results[presentName(l, kind)];
    }
    disposeAll(sequence.cache);
    sequence.cache = next;
    sequence.length = P + T;
    return rows;
  }

  releaseSequence(sequence: SequenceState): void {
    const s = this.own(sequence);
    s.released = true;
    disposeAll(s.cache);
    s.cache = {};
  }

  /** The session belongs to the runner, which releases it. */
  dispose(): void {}
}

/** Frees tensors that live on the GPU (present outputs kept there); CPU tensors have nothing to free. */
function disposeAll(tensors: Record<string, Ort.Tensor>): void {
  for (const t of Object.values(tensors)) if (t.location === 'gpu-buffer') t.dispose();
}
