// The studio's engine thread: owns the GPU device and IndexedDB, and exposes StudioApi over comlink.

import * as Comlink from 'comlink';
import { allKernelChecks } from '../engine/selftest/registry';
import { runKernelChecks } from '../engine/selftest/run';
import { probeStorage } from '../storage/probe';
import { openGpuSession, type GpuSession } from './gpu-session';
import type { StudioApi } from './protocol';

let session: Promise<GpuSession> | undefined;
let selfTestRunning = false;

function gpuSession(): Promise<GpuSession> {
  session ??= openGpuSession((globalThis.navigator as Navigator | undefined)?.gpu);
  return session;
}

/** Closes the channel comlink opened for a callback passed with proxy(). */
function releaseCallback(fn: unknown): void {
  (fn as Partial<Record<typeof Comlink.releaseProxy, () => void>>)[Comlink.releaseProxy]?.();
}

const api: StudioApi = {
  async gpuStatus() {
    return (await gpuSession()).status;
  },

  async onDeviceLost(listener) {
    const { ctx } = await gpuSession();
    // A closed page cannot hear it; nothing else to do then.
    void ctx?.lost.then((err) => listener(err.message)).catch(() => undefined);
  },

  async kernelCheckNames() {
    return allKernelChecks.map((c) => c.name);
  },

  async runSelfTest(onProgress) {
    const { ctx, status } = await gpuSession();
    if (!ctx) throw new Error(`No GPU device: ${status.kind === 'unavailable' ? status.message : 'unknown'}`);
    if (selfTestRunning) throw new Error('The kernel self-test is already running.');
    selfTestRunning = true;
    try {
      return await runKernelChecks(ctx, allKernelChecks, onProgress);
    } finally {
      selfTestRunning = false;
      releaseCallback(onProgress);
    }
  },

  probeStorage,
};

Comlink.expose(api);
