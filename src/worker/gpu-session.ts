// Acquires the worker's one GPU device and turns a failure into a status the page can explain:
// no WebGPU API, an API without an adapter, or an adapter that refused a device.

import { acquireGpu, type GpuContext } from '../engine/gpu/context';
import { GpuUnavailableError } from '../engine/gpu/errors';
import type { GpuStatus } from './protocol';

export interface GpuSession {
  status: GpuStatus;
  ctx: GpuContext | null;
}

export async function openGpuSession(gpu: GPU | undefined): Promise<GpuSession> {
  const secureContext = globalThis.isSecureContext ?? true;
  try {
    const ctx = await acquireGpu(gpu);
    return { status: { kind: 'ready', adapter: ctx.adapter }, ctx };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Anything else acquireGpu throws happened after an adapter was found.
    const reason = err instanceof GpuUnavailableError ? err.reason : 'no-device';
    return { status: { kind: 'unavailable', reason, message, secureContext }, ctx: null };
  }
}
