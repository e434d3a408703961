// One uniform buffer for every parameter block of a step, kept across steps so that bind groups bind it
// once and each dispatch selects its block by a dynamic offset. A step writes its blocks with one
// queue.writeBuffer just before its submit; writes and submits are ordered on the queue, so a step in
// flight keeps reading its own blocks while the next step's write waits behind it.

const MIN_BYTES = 64 * 1024;

export class UniformArena {
  private current: GPUBuffer | undefined;

  /** `create` makes a new buffer (the context's, which counts its bytes). */
  constructor(private readonly create: (descriptor: GPUBufferDescriptor) => GPUBuffer) {}

  /**
   * The arena, at least `bytes` long. A larger one replaces it and the old one is destroyed: a step already
   * submitted still reads it (WebGPU frees a destroyed buffer's memory only once submitted work is done
   * with it), and no later step can bind it.
   */
  buffer(bytes: number): GPUBuffer {
    if (!this.current || this.current.size < bytes) {
      let size = Math.max(MIN_BYTES, this.current?.size ?? 0);
      while (size < bytes) size *= 2;
      this.current?.destroy();
      this.current = this.create({ size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'uniform arena' });
    }
    return this.current;
  }

  /** Destroys the arena (e.g. between models, to measure from nothing); the next step makes a new one. */
  trim(): void {
    this.current?.destroy();
    this.current = undefined;
  }

  get bytes(): number {
    return this.current?.size ?? 0;
  }
}
