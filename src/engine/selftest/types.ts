import type { GpuContext } from '../gpu/context';
import type { Tolerance } from './compare';

/** One GPU-vs-CPU comparison inside a kernel check. */
export interface CheckOutcome {
  label: string;
  pass: boolean;
  maxAbsError: number;
  detail: string;
  /** Digest of the GPU output's bits: two runs on the same inputs must give the same digest. */
  digest: string;
}

/** A kernel self-check: runs the GPU kernel on seeded data and compares with the CPU reference. */
export interface KernelCheck {
  /** Kernel family, e.g. "matmul", "rmsnorm.backward". */
  name: string;
  tolerance: Tolerance;
  run(ctx: GpuContext): Promise<CheckOutcome[]>;
}

export interface KernelCheckResult {
  name: string;
  pass: boolean;
  maxAbsError: number;
  ms: number;
  outcomes: CheckOutcome[];
  error?: string;
}
