// Matmul tunings (schema v5): per GPU adapter, which matmul kernel variant each shape class runs and the
// GFLOP/s every candidate reached, as the engine's autotune measured them (src/engine/ops/gpu/
// matmul-tuning.ts has the same shape; the worker checks a stored record before the engine uses it).
// Key: adapterKey. A record whose kernelsVersion is not the engine's is stale and gets measured again.

export interface MatmulTunedProductRecord {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

export interface MatmulCandidateRecord {
  variant: string;
  /** null: not timed, failed or disagreed with the rule's variant (see note). */
  gflops: number | null;
  note?: string;
}

export interface MatmulClassTuningRecord {
  id: string;
  label: string;
  products: MatmulTunedProductRecord[];
  bFormat: 'f32' | 'f16';
  choice: string;
  /** What the built-in rule picks for these products. */
  rule: string;
  candidates: MatmulCandidateRecord[];
}

export interface MatmulTuningRecord {
  /** "vendor / architecture / device / description #hash". */
  adapterKey: string;
  /** A hash of the matmul kernels' sources. */
  kernelsVersion: string;
  /** ISO time. */
  tunedAt: string;
  /** 'full' model-size products or 'small' ones (software adapters). */
  profile: 'full' | 'small';
  budgetS: number;
  elapsedS: number;
  classes: MatmulClassTuningRecord[];
}
