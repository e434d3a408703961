// Acquires the worker's one GPU device and classifies a failure by how far it got:
// no WebGPU API, an API without an adapter, or an adapter that refused a device.

import { acquireGpu, type GpuContext } from '../engine/gpu/context';
import type { GpuStatus, GpuUnavailableReason } from './protocol';

export interface GpuSession {
  status: GpuStatus;
  ctx: GpuContext | null;
}

/** A view of `gpu` that records whether requestAdapter() produced an adapter. */
function observeAdapter(gpu: GPU): { gpu: GPU; adapterFound: () => boolean } {
  let found = false;
  const observed = {
    requestAdapter: async (options?: GPURequestAdapterOptions) => {
      const adapter = await gpu.requestAdapter(options);
      found = adapter !== null;
      return adapter;
    },
    getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat(),
    get wgslLanguageFeatures() {
      return gpu.wgslLanguageFeatures;
    },
  };
  return { gpu: observed as unknown as GPU, adapterFound: () => found };
}

export async function openGpuSession(gpu: GPU | undefined): Promise<GpuSession> {
  const secureContext = globalThis.isSecureContext ?? true;
  const unavailable = (reason: GpuUnavailableReason, message: string): GpuSession => ({
    status: { kind: 'unavailable', reason, message, secureContext },
    ctx: null,
  });
  if (!gpu) {
    return unavailable('no-api', 'navigator.gpu is missing in the worker: this browser exposes no WebGPU here.');
  }
  const observed = observeAdapter(gpu);
  try {
    const ctx = await acquireGpu(observed.gpu);
    return { status: { kind: 'ready', adapter: ctx.adapter }, ctx };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return unavailable(observed.adapterFound() ? 'no-device' : 'no-adapter', message);
  }
}
