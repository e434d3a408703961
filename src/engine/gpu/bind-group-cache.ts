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
    return this.make(key, layout, ranges);
  }

  /**
   * The same for a dispatch as the step encoder records it: `kinds` in binding order, storage bindings
   * taken from `buffers` in turn and the uniform binding at (uniforms, 0, uniformSize). Builds only the key
   * on a hit, which is what every step after the first does for every dispatch.
   */
  forDispatch(
    layout: GPUBindGroupLayout,
    kinds: readonly string[],
    buffers: readonly (GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number })[],
    uniforms: GPUBuffer | undefined,
    uniformSize: number,
  ): GPUBindGroup {
    let key = String(this.idOf(this.layoutIds, layout));
    let bi = 0;
    for (const kind of kinds) {
      if (kind === 'uniform') {
        key += `|${this.idOf(this.bufferIds, uniforms!)}:0:${uniformSize}`;
        continue;
      }
      const b = buffers[bi++];
      if ('buffer' in b) key += `|${this.idOf(this.bufferIds, b.buffer)}:${b.offset ?? 0}:${b.size ?? ''}`;
      else key += `|${this.idOf(this.bufferIds, b)}:0:`;
    }
    const hit = this.groups.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    bi = 0;
    const ranges = kinds.map((kind): BoundRange => {
      if (kind === 'uniform') return { buffer: uniforms!, offset: 0, size: uniformSize };
      const b = buffers[bi++];
      return 'buffer' in b ? { buffer: b.buffer, offset: b.offset ?? 0, size: b.size } : { buffer: b, offset: 0, size: undefined };
    });
    return this.make(key, layout, ranges);
  }

  private make(key: string, layout: GPUBindGroupLayout, ranges: readonly BoundRange[]): GPUBindGroup {
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
