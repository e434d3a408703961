// Uploads a model's canonical weights (weights.ts) to the GPU once. Large matrices (linear weights, token
// and position embeddings, LM head) are stored as f16 packed two per u32 by default, or f32 on request;
// norm weights and biases stay f32. Tensors are converted one at a time, so the model never sits in
// memory twice as f32. A matrix larger than one storage binding may hold is split by rows into parts,
// each its own buffer (Qwen2.5-0.5B's 151936 x 896 f16 embedding is 272 MB, over a 128 MiB binding limit).
// A layer's seven linear weights share one buffer when together they fit one binding.

import type { GpuContext } from '../../gpu/context';
import { LINEAR_SLOTS, type LinearSlot } from '../../lora/lora-config';
import { packF16, type F16PackLabel } from '../../gpu/f16';
import type { ModelConfig } from '../config';
import type { LayerWeights, LinearWeights, ModelWeights, NormWeights, WeightTensor } from '../weights';

export type WeightFormat = 'f16' | 'f32';

export interface GpuWeightOptions {
  /** Storage of the large matrices (default 'f16'). */
  weightFormat?: WeightFormat;
  /** Largest buffer one matrix part may take (default and upper bound: the device's binding limits). */
  maxBindingBytes?: number;
}

/** Rows [firstRow, firstRow + rows) of a matrix, with the matching slice of its bias. */
export interface MatrixPart {
  weight: GPUBuffer;
  /** f32, linear layers with a bias only: the part's values start at biasOffset (default 0). */
  bias?: GPUBuffer;
  /** Element of `bias` holding the part's first value: a packed layer keeps all its biases in one buffer. */
  biasOffset?: number;
  firstRow: number;
  rows: number;
  /**
   * Element where the part starts in `weight` (0 when absent): a layer's linear weights share one buffer,
   * and a widened view (widened-layer.ts) points into the step's f32 copy of that buffer.
   */
  offset?: number;
}

/** A (rows, cols) matrix, e.g. a linear weight (out, in), as consecutive row parts covering every row. */
export interface GpuMatrix {
  rows: number;
  cols: number;
  format: WeightFormat;
  parts: MatrixPart[];
}

export interface GpuNorm {
  /** f32 (C) */
  weight: GPUBuffer;
  /** f32 (C), LayerNorm only. */
  bias?: GPUBuffer;
}

export interface GpuLayerWeights {
  attnNorm: GpuNorm;
  q: GpuMatrix;
  k: GpuMatrix;
  v: GpuMatrix;
  o: GpuMatrix;
  mlpNorm: GpuNorm;
  gate?: GpuMatrix;
  up: GpuMatrix;
  down: GpuMatrix;
  /**
   * q, k and v as the rows of one (Q + 2K, C) matrix, and gate and up as one (2F, C): views of the packed
   * layer's buffer where those weights (and their biases) follow each other with no gap, so that each group
   * projects in one product. Absent where the layer is not packed that way.
   */
  qkv?: GpuMatrix;
  gateUp?: GpuMatrix;
}

/** The fused groups of a layer: slots whose weights (and biases) may sit back to back as one matrix. */
export const FUSED_GROUPS = { qkv: ['q', 'k', 'v'], gateUp: ['gate', 'up'] } as const satisfies Record<string, readonly LinearSlot[]>;
export type FusedGroup = keyof typeof FUSED_GROUPS;

/**
 * A fused group's slots with the columns each takes in the group's (N, ld) rows, in group order: what a
 * projection writes per slot (forward) and reads per slot (backward) when the group is not one matrix.
 */
export function groupColumns(w: GpuLayerWeights, group: FusedGroup): { ld: number; slots: { slot: LinearSlot; matrix: GpuMatrix; column: number }[] } {
  let ld = 0;
  const slots = FUSED_GROUPS[group].map((slot) => {
    const matrix = w[slot]!;
    const entry = { slot, matrix, column: ld };
    ld += matrix.rows;
    return entry;
  });
  return { ld, slots };
}

/**
 * The group's matrices as one (sum of rows, cols) matrix when each is one part of the same buffer, back to
 * back, in one format, with biases all absent or all back to back in one buffer; else undefined.
 */
export function fuseRows(matrices: readonly (GpuMatrix | undefined)[]): GpuMatrix | undefined {
  const first = matrices[0];
  if (!first || matrices.some((m) => !m || m.parts.length !== 1 || m.cols !== first.cols || m.format !== first.format)) return undefined;
  const parts = matrices.map((m) => m!.parts[0]);
  const head = parts[0];
  let rows = 0;
  for (const [i, part] of parts.entries()) {
    const weightAt = (head.offset ?? 0) + rows * first.cols;
    const biasAt = (head.biasOffset ?? 0) + rows;
    if (part.weight !== head.weight || (part.offset ?? 0) !== weightAt) return undefined;
    if (Boolean(part.bias) !== Boolean(head.bias) || (part.bias && (part.bias !== head.bias || (part.biasOffset ?? 0) !== biasAt))) return undefined;
    rows += matrices[i]!.rows;
  }
  return { rows, cols: first.cols, format: first.format, parts: [{ ...head, firstRow: 0, rows }] };
}

/** The layer with its fused views (qkv, gateUp) set where its weights allow them. */
export function withFusedViews(layer: GpuLayerWeights): GpuLayerWeights {
  const qkv = fuseRows(FUSED_GROUPS.qkv.map((slot) => layer[slot]));
  const gateUp = layer.gate ? fuseRows(FUSED_GROUPS.gateUp.map((slot) => layer[slot])) : undefined;
  return { ...layer, qkv, gateUp };
}

export interface GpuModelWeights {
  /** (V, C) */
  tokenEmbedding: GpuMatrix;
  /** (P, C), GPT-2 only. */
  positionEmbedding?: GpuMatrix;
  layers: GpuLayerWeights[];
  finalNorm: GpuNorm;
  /** (V, C); the same object as tokenEmbedding when tied (one set of buffers serves both). */
  lmHead: GpuMatrix;
  format: WeightFormat;
  /** The largest part a matrix was allowed (bytes), also the bound for the LM head's output blocks. */
  maxBindingBytes: number;
  /** Bytes written to the GPU. */
  bytes: number;
  /** Every buffer above, for dispose. */
  buffers: GPUBuffer[];
}

/** The slots a layer has (in LINEAR_SLOTS order, also their order in its one buffer) with what each holds: gate is absent for GELU MLPs. */
export function presentSlots<T>(layer: Partial<Record<LinearSlot, T>>): [LinearSlot, T][] {
  return LINEAR_SLOTS.flatMap((slot): [LinearSlot, T][] => (layer[slot] ? [[slot, layer[slot]]] : []));
}

/** Each matrix of a layer's buffer starts on this many elements: 16-byte rows for f16 gemv and vec4 loads. */
const LAYER_MATRIX_ALIGN = 8;

/** Element offsets of a layer's matrices (of these sizes, in order) in its one buffer, and its length. */
export function layerMatrixLayout(sizes: readonly number[]): { offsets: number[]; elements: number } {
  const offsets: number[] = [];
  let at = 0;
  for (const size of sizes) {
    offsets.push(at);
    at += Math.ceil(size / LAYER_MATRIX_ALIGN) * LAYER_MATRIX_ALIGN;
  }
  return { offsets, elements: at };
}

/** packF16's label for a model tensor: a weight beyond the f16 range is refused, with the way around it. */
function f16Label(tensor: string, offset = 0): F16PackLabel {
  return { what: `tensor "${tensor}"`, offset, advice: 'load the model with f32 weights (weight format f32, or --weights f32 on the command line)' };
}

/** Wait for the queue after this many uploaded bytes, so staging copies never pile up for a whole model. */
const DRAIN_BYTES = 64 * 1024 * 1024;

/** The binding limit actually used: the device's, lowered by the option, rounded down to whole 16 bytes. */
export function effectiveBindingLimit(ctx: GpuContext, requested?: number): number {
  const device = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  if (requested !== undefined && (!Number.isFinite(requested) || requested < 16)) {
    throw new RangeError(`maxBindingBytes must be at least 16, got ${requested}`);
  }
  return Math.floor(Math.min(device, requested ?? device) / 16) * 16;
}

class Uploader {
  readonly buffers: GPUBuffer[] = [];
  bytes = 0;
  private sinceDrain = 0;

  constructor(
    private readonly ctx: GpuContext,
    readonly format: WeightFormat,
    readonly limit: number,
  ) {}

  private put(data: Float32Array | Uint32Array, label: string): GPUBuffer {
    const buffer = this.ctx.upload(data, label);
    this.buffers.push(buffer);
    this.bytes += data.byteLength;
    this.sinceDrain += data.byteLength;
    return buffer;
  }

  async drainIfNeeded(): Promise<void> {
    if (this.sinceDrain < DRAIN_BYTES) return;
    this.sinceDrain = 0;
    await this.ctx.device.queue.onSubmittedWorkDone();
  }

  /** Always f32: norm weights and biases. */
  vector(t: WeightTensor): GPUBuffer {
    return this.put(t.read(), t.source);
  }

  norm(n: NormWeights): GpuNorm {
    return { weight: this.vector(n.weight), bias: n.bias ? this.vector(n.bias) : undefined };
  }

  /** A (rows, cols) tensor in this.format, split by rows where one buffer would exceed the limit. */
  matrix(t: WeightTensor, biasTensor?: WeightTensor): GpuMatrix {
    const [rows, cols] = t.shape;
    const values = t.read();
    const bias = biasTensor?.read();
    // f16 parts are packed anew from their first element, so (rows * cols) halves take ceil(n / 2) words.
    const partBytes = (r: number) => (this.format === 'f16' ? Math.ceil((r * cols) / 2) * 4 : r * cols * 4);
    let rowsPerPart = Math.floor(this.limit / (cols * (this.format === 'f16' ? 2 : 4)));
    while (rowsPerPart > 0 && partBytes(rowsPerPart) > this.limit) rowsPerPart--;
    if (rowsPerPart < 1) {
      throw new RangeError(`${t.source}: one row of ${cols} values does not fit a binding of ${this.limit} bytes`);
    }
    const parts: MatrixPart[] = [];
    for (let first = 0; first < rows; first += rowsPerPart) {
      const n = Math.min(rowsPerPart, rows - first);
      const slice = values.subarray(first * cols, (first + n) * cols);
      const label = rows > rowsPerPart ? `${t.source} [${first}, ${first + n})` : t.source;
      parts.push({
        weight: this.put(this.format === 'f16' ? packF16(slice, f16Label(t.source, first * cols)) : slice, label),
        bias: bias ? this.put(bias.subarray(first, first + n), `${biasTensor!.source}`) : undefined,
        firstRow: first,
        rows: n,
      });
    }
    return { rows, cols, format: this.format, parts };
  }

  linear(l: LinearWeights): GpuMatrix {
    return this.matrix(l.weight, l.bias);
  }

  /**
   * A layer's linear weights in one buffer, in LINEAR_SLOTS order at layerMatrixLayout's offsets, when
   * they fit one binding together (else undefined): one f16 layer widens in one dispatch on software
   * adapters (widened-layer.ts), and where the sizes are multiples of 8 (every supported model's) q, k, v and
   * gate, up follow each other with no gap, as the rows of one matrix would.
   */
  private packedLayer(linears: readonly [LinearSlot, LinearWeights][]): Partial<Record<LinearSlot, GpuMatrix>> | undefined {
    const layout = layerMatrixLayout(linears.map(([, l]) => l.weight.shape[0] * l.weight.shape[1]));
    const bytesPerValue = this.format === 'f16' ? 2 : 4;
    if (layout.elements * bytesPerValue > this.limit) return undefined;
    const words = new Uint32Array(Math.ceil((layout.elements * bytesPerValue) / 4));
    linears.forEach(([, l], i) => {
      const values = l.weight.read();
      if (this.format === 'f16') words.set(packF16(values, f16Label(l.weight.source)), layout.offsets[i] / 2);
      else new Float32Array(words.buffer).set(values, layout.offsets[i]);
    });
    const label = linears[0][1].weight.source.replace(/\.[^.]+\.[^.]+\.weight$/, '') + ' linear weights';
    const buffer = this.put(words, label);
    const biases = this.biases(linears.map(([, l]) => l.bias));
    const out: Partial<Record<LinearSlot, GpuMatrix>> = {};
    linears.forEach(([slot, l], i) => {
      const [rows, cols] = l.weight.shape;
      const bias = l.bias ? { bias: biases!.buffer, biasOffset: biases!.offsets[i] } : {};
      out[slot] = { rows, cols, format: this.format, parts: [{ weight: buffer, ...bias, firstRow: 0, rows, offset: layout.offsets[i] }] };
    });
    return out;
  }

  /** The biases present, back to back in one f32 buffer (undefined when there are none), with each one's offset. */
  private biases(tensors: readonly (WeightTensor | undefined)[]): { buffer: GPUBuffer; offsets: number[] } | undefined {
    const present = tensors.filter((t): t is WeightTensor => t !== undefined);
    if (!present.length) return undefined;
    const offsets: number[] = [];
    let at = 0;
    for (const t of tensors) {
      offsets.push(at);
      at += t ? t.shape[0] : 0;
    }
    const values = new Float32Array(at);
    tensors.forEach((t, i) => t && values.set(t.read(), offsets[i]));
    const label = present[0].source.replace(/\.[^.]+\.[^.]+\.bias$/, '') + ' linear biases';
    return { buffer: this.put(values, label), offsets };
  }

  async layer(l: LayerWeights): Promise<GpuLayerWeights> {
    const packed = this.packedLayer(presentSlots(l));
    const matrix = (slot: LinearSlot, w: LinearWeights): GpuMatrix => packed?.[slot] ?? this.linear(w);
    const out: GpuLayerWeights = {
      attnNorm: this.norm(l.attnNorm),
      q: matrix('q', l.q),
      k: matrix('k', l.k),
      v: matrix('v', l.v),
      o: matrix('o', l.o),
      mlpNorm: this.norm(l.mlpNorm),
      gate: l.gate ? matrix('gate', l.gate) : undefined,
      up: matrix('up', l.up),
      down: matrix('down', l.down),
    };
    await this.drainIfNeeded();
    return withFusedViews(out);
  }
}

/** Uploads every tensor of `weights`; on failure the buffers made so far are destroyed. */
export async function uploadWeights(ctx: GpuContext, config: ModelConfig, weights: ModelWeights, options: GpuWeightOptions = {}): Promise<GpuModelWeights> {
  const format = options.weightFormat ?? 'f16';
  if (format !== 'f16' && format !== 'f32') throw new RangeError(`weightFormat must be 'f16' or 'f32', got ${String(format)}`);
  if (weights.layers.length !== config.numLayers) {
    throw new RangeError(`weights have ${weights.layers.length} layers, the config ${config.numLayers}`);
  }
  const up = new Uploader(ctx, format, effectiveBindingLimit(ctx, options.maxBindingBytes));
  try {
    const tokenEmbedding = up.matrix(weights.tokenEmbedding);
    await up.drainIfNeeded();
    const positionEmbedding = weights.positionEmbedding ? up.matrix(weights.positionEmbedding) : undefined;
    const layers: GpuLayerWeights[] = [];
    for (const l of weights.layers) layers.push(await up.layer(l));
    const finalNorm = up.norm(weights.finalNorm);
    const lmHead = weights.tied ? tokenEmbedding : up.matrix(weights.lmHead);
    await ctx.device.queue.onSubmittedWorkDone();
    return { tokenEmbedding, positionEmbedding, layers, finalNorm, lmHead, format, maxBindingBytes: up.limit, bytes: up.bytes, buffers: up.buffers };
  } catch (err) {
    for (const b of up.buffers) b.destroy();
    throw err;
  }
}
