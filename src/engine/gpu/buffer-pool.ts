// Reuses GPU buffers by (usage, size). Training steps allocate the same shapes every step, so exact-size
// reuse (rounded to 256 bytes) finds a hit almost always without wasting memory on size classes.
//
// Releasing a buffer right after the submit that used it is safe: later writes and dispatches that reuse
// it are queued behind that submit.

const ALIGN = 256;

/** Where a buffer goes back to: read from native code once (see buffer-size.ts). */
interface PoolSlot {
  key: string;
  size: number;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly slots = new WeakMap<GPUBuffer, PoolSlot>();
  private liveBytes = 0;
  private pooledBytes = 0;

  /** `create` makes a new buffer (the context's, which counts its bytes). */
  constructor(private readonly create: (descriptor: GPUBufferDescriptor) => GPUBuffer) {}

  static roundSize(bytes: number): number {
    return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  }

  acquire(bytes: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer {
    const size = BufferPool.roundSize(bytes);
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    const reused = list?.pop();
    if (reused) {
      this.pooledBytes -= size;
      this.liveBytes += size;
      return reused;
    }
    const buffer = this.create({ size, usage, label });
    this.slots.set(buffer, { key, size });
    this.liveBytes += size;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const slot = this.slots.get(buffer) ?? { key: `${buffer.usage}:${buffer.size}`, size: buffer.size };
    let list = this.free.get(slot.key);
    if (!list) this.free.set(slot.key, (list = []));
    list.push(buffer);
    this.liveBytes -= slot.size;
    this.pooledBytes += slot.size;
  }

  /** Destroys every pooled (not live) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }

  stats(): { liveBytes: number; pooledBytes: number } {
    return { liveBytes: this.liveBytes, pooledBytes: this.pooledBytes };
  }
}
