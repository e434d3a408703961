// Bytes held in GPU buffers, counted where they are made: every buffer of a GpuContext (its createBuffer and
// upload, the buffer pool, the uniform arena, readback staging, the dispatch timer) is created through
// `create`, which adds its size and hooks its destroy() to subtract it once. The cost is per buffer created
// or destroyed, never per dispatch. Pooled (free) buffers count as held: the device still holds their memory.

export class GpuMemoryCounter {
  private held = 0;
  private peak = 0;
  /** Set once the device is destroyed: every buffer is gone with it, later destroy() calls change nothing. */
  private gone = false;

  /** Bytes in buffers created and not yet destroyed. */
  get heldBytes(): number {
    return this.held;
  }

  /** The most bytes held at any moment since the last resetPeak() (or since the context was made). */
  get peakBytes(): number {
    return this.peak;
  }

  /** Starts a new peak from what is held now. */
  resetPeak(): void {
    this.peak = this.held;
  }

  /** device.createBuffer(descriptor), counted until its destroy() (or the device's). */
  create(device: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = device.createBuffer(descriptor);
    const size = descriptor.size;
    this.held += size;
    if (this.held > this.peak) this.peak = this.held;
    const destroy = buffer.destroy;
    let live = true;
    // An own property shadows the prototype's destroy: every caller's buffer.destroy() passes here.
    buffer.destroy = () => {
      if (live) {
        live = false;
        if (!this.gone) this.held -= size;
      }
      destroy.call(buffer);
    };
    return buffer;
  }

  /** The device was destroyed, and every buffer with it. */
  deviceDestroyed(): void {
    this.gone = true;
    this.held = 0;
  }
}
