// A GPUBuffer's size never changes, yet on dawn.node every read of `buffer.size` is a call into native
// code; the matmul dispatcher checks several operands per dispatch, so sizes are remembered.

const sizes = new WeakMap<GPUBuffer, number>();

export function bufferSize(buffer: GPUBuffer): number {
  let size = sizes.get(buffer);
  if (size === undefined) sizes.set(buffer, (size = buffer.size));
  return size;
}

/** Bytes GpuContext.createBuffer allocates for a request of `bytes`: whole 16-byte words, at least 16. */
export function createdBufferSize(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}
