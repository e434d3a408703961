// Bind groups made once and reused. A training step records the same dispatches over the same buffers
// every step (the pool hands a step's temporaries back in the same order, see buffer-pool.ts), and every
// parameter block is bound at a dynamic offset of one persistent uniform arena, so from the second step
// on every bind group is a cache hit. Creating one costs 20-50 µs on dawn.node; a 135M step has ~1,700.

/** One buffer binding: a whole buffer (size undefined) or a range of it. */
export interface BoundRange {
  buffer: GPUBuffer;
  offset: number;
  size: number | undefined;
}

/** Past this many entries the cache starts over: the keys of destroyed buffers never come back. */
const MAX_ENTRIES = 32768;

export class BindGroupCache {
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private readonly layoutIds = new WeakMap<GPUBindGroupLayout, number>();
  private nextId = 1;
  hits = 0;
  misses = 0;

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.groups.size;
  }

  /** The bind group for `ranges` at bindings 0..n-1 of `layout`, made on first use. */
  get(layout: GPUBindGroupLayout, ranges: readonly BoundRange[]): GPUBindGroup {
    let key = String(this.idOf(this.layoutIds, layout));
    for (const r of ranges) key += `|${this.idOf(this.bufferIds, r.buffer)}:${r.offset}:${r.size ?? ''}`;
    const hit = this.groups.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.misses++;
    if (this.groups.size >= MAX_ENTRIES) this.groups.clear();
    const entries = ranges.map((r, binding) => ({
      binding,
      resource: r.size === undefined ? { buffer: r.buffer, offset: r.offset } : { buffer: r.buffer, offset: r.offset, size: r.size },
    }));
    const group = this.device.createBindGroup({ layout, entries });
    this.groups.set(key, group);
    return group;
  }

  /** Forgets every bind group (their buffers may be destroyed: the pool was trimmed, a model unloaded). */
  clear(): void {
    this.groups.clear();
  }

  private idOf<T extends object>(ids: WeakMap<T, number>, object: T): number {
    let id = ids.get(object);
    if (id === undefined) ids.set(object, (id = this.nextId++));
    return id;
  }
}
