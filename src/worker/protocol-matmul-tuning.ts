// The Device page's matmul tuning calls: which kernel variant each matmul shape class runs on this GPU,
// measured by a short autotune (stored per adapter in IndexedDB), and measuring it again.

import type { MatmulTuningRecord } from '../storage/records';

export type { MatmulTuningRecord };

export interface MatmulTuneProgress {
  /** Measurements finished, of `total` (one per shape class and kernel variant). */
  done: number;
  total: number;
  classId: string;
  variant: string;
}

export type MatmulTuningStatus =
  | {
      state: 'tuned';
      /** 'stored': read from IndexedDB when the device opened; 'measured': by this worker. */
      source: 'stored' | 'measured';
      record: MatmulTuningRecord;
    }
  /** No tuning in use: the built-in rule picks the kernels. */
  | { state: 'none'; why: string }
  | { state: 'measuring'; progress: MatmulTuneProgress | null; previous: MatmulTuningRecord | null };

export type MatmulTuneListener = (progress: MatmulTuneProgress) => void;

export interface MatmulTuningApi {
  /** The device's tuning now (never rejects; no device reads as 'none'). */
  matmulTuning(): Promise<MatmulTuningStatus>;
  /**
   * Measures every variant again now (about 5 s on a GPU, up to 15 s on a software adapter), stores it and
   * uses it from the next step on. Refused while a run trains or a measurement is under way.
   */
  retuneMatmul(onProgress: MatmulTuneListener): Promise<MatmulTuningStatus>;
}
