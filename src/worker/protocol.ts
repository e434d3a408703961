// The contract between the studio page and its worker: the only module both threads import.
// Everything here crosses a postMessage boundary, so it is plain data (structured-clone safe);
// callbacks cross as comlink proxies.

import type { GpuAdapterSummary } from '../engine/gpu/adapter-info';
import type { GpuUnavailableReason } from '../engine/gpu/errors';
import type { SelfTestProgress } from '../engine/selftest/run';
import type { CheckOutcome, KernelCheckResult } from '../engine/selftest/types';
import type { StorageEstimateSummary, StorageProbeResult } from '../storage/probe';
import type { StorageProbeRecord } from '../storage/meta-values';

export type {
  CheckOutcome,
  GpuAdapterSummary,
  KernelCheckResult,
  SelfTestProgress,
  StorageEstimateSummary,
  StorageProbeRecord,
  StorageProbeResult,
};

/**
 * Why there is no GPU device:
 * - 'no-api': the browser exposes no WebGPU (navigator.gpu is missing);
 * - 'no-adapter': WebGPU exists but requestAdapter() found no adapter (blocklisted driver, flag off, ...);
 * - 'no-device': an adapter exists but refused to create a device.
 */
export type { GpuUnavailableReason };

export type GpuStatus =
  | { kind: 'ready'; adapter: GpuAdapterSummary }
  | {
      kind: 'unavailable';
      reason: GpuUnavailableReason;
      /** What the engine said, for the technical details. */
      message: string;
      /** WebGPU only exists in secure contexts (https, localhost). */
      secureContext: boolean;
    };

export type ProgressListener = (progress: SelfTestProgress) => void;
export type DeviceLostListener = (message: string) => void;

export interface StudioApi {
  /** Acquires the GPU device on first call (later calls return the same answer). Never rejects. */
  gpuStatus(): Promise<GpuStatus>;
  /** Calls `listener` once if the device is lost later (driver reset, out of memory, ...). */
  onDeviceLost(listener: DeviceLostListener): Promise<void>;
  /** Names of every kernel self-check in the registry, in run order. */
  kernelCheckNames(): Promise<string[]>;
  /** Runs every registered kernel check on the device; one at a time, rejects if already running. */
  runSelfTest(onProgress: ProgressListener): Promise<KernelCheckResult[]>;
  /** Writes and reads back a probe record in IndexedDB. Never rejects: failures come back as data. */
  probeStorage(): Promise<StorageProbeResult>;
}
