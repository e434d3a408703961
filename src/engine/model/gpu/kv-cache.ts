// A sequence of the GPU model: per layer one key and one value cache buffer, (capacity, Hkv, D) f32 each,
// rows [0, length) filled. The caches live as long as the sequence; activations are step temps.

import type { GpuContext } from '../../gpu/context';
import type { SequenceState } from '../causal-lm';
import type { ModelConfig } from '../config';

export interface LayerKvBuffers {
  /** (capacity, Hkv, D) f32 */
  k: GPUBuffer;
  /** (capacity, Hkv, D) f32 */
  v: GPUBuffer;
}

export class GpuSequence implements SequenceState {
  private filled = 0;
  private freed = false;
  /** Set while an extend that includes this sequence is in flight. */
  busy = false;
  readonly layers: LayerKvBuffers[];

  constructor(
    ctx: GpuContext,
    config: ModelConfig,
    /** The model that made it (a sequence only runs on its own model). */
    readonly owner: object,
    readonly capacity: number,
  ) {
    const rowBytes = config.numKvHeads * config.headDim * 4;
    const bytes = capacity * rowBytes;
    const limit = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
    if (bytes > limit) {
      throw new RangeError(
        `a KV cache of ${capacity} positions needs ${bytes} bytes per layer, more than this adapter binds (${limit}); use at most ${Math.floor(limit / rowBytes)} positions`,
      );
    }
    this.layers = [];
    try {
      for (let l = 0; l < config.numLayers; l++) {
        this.layers.push({ k: ctx.createBuffer(bytes, `kv cache k ${l}`), v: ctx.createBuffer(bytes, `kv cache v ${l}`) });
      }
    } catch (err) {
      this.release();
      throw err;
    }
  }

  get length(): number {
    return this.filled;
  }

  get released(): boolean {
    return this.freed;
  }

  /** Called once the step that wrote `count` more rows has been submitted. */
  advance(count: number): void {
    this.filled += count;
  }

  /** After a fork's copy or a rewind: rows [0, length) hold what the cache is to continue from. */
  setLength(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.capacity) throw new RangeError(`sequence length must be an integer in [0, ${this.capacity}], got ${length}`);
    this.filled = length;
  }

  release(): void {
    this.freed = true;
    for (const { k, v } of this.layers) {
      k.destroy();
      v.destroy();
    }
    this.layers.length = 0;
  }
}
