// Typed GPU errors with messages that tell the user what to do next.

export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** How far device acquisition got: no WebGPU API, an API without an adapter, an adapter without a device. */
export type GpuUnavailableReason = 'no-api' | 'no-adapter' | 'no-device';

/** No WebGPU at all, no adapter behind it, or an adapter that refused a device. */
export class GpuUnavailableError extends GpuError {
  constructor(
    readonly reason: GpuUnavailableReason,
    message: string,
  ) {
    super(message);
  }
}

/** The device was lost (driver reset, tab in background too long, out of memory, destroy()). */
export class GpuDeviceLostError extends GpuError {
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(
      `The GPU device was lost (${reason}): ${detail || 'no detail given'}. ` +
        'Work since the last checkpoint is gone; acquire a new device and resume from the last checkpoint. ' +
        'If it keeps happening, lower the batch size or sequence length, or close other GPU-heavy tabs.',
    );
  }
}

/** A WGSL compile error, a bad binding or another programming error reported by the validation layer. */
export class GpuValidationError extends GpuError {}

/** An allocation the device refused. */
export class GpuOutOfMemoryError extends GpuError {}

/** A request that exceeds what this adapter can do (a limit or a feature). */
export class GpuLimitError extends GpuError {}
