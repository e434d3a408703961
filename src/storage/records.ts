// What the studio keeps in IndexedDB, record by record (schema v6; see db.ts for the migrations). Plain data
// (structured-clone safe); the worker writes, the page reads through the worker. Bytes are stored as
// Uint8Array. Storage owns every type here: nothing is imported from the engine or the worker.

export type * from './records-datasets';
export type * from './records-runs';
export type * from './records-eval-suites';
export type * from './records-eval-results';
export type * from './records-eval-judgement';
export type * from './records-matmul-tuning';

export interface AdapterRecord {
  id: string;
  name: string;
  createdAt: string;
  /** The run that trained it (absent for an imported adapter). */
  runId?: string;
  baseModel: string;
  /** adapter_config.json as PEFT writes it. */
  config: Record<string, unknown>;
  /** adapter_model.safetensors. */
  weights: Uint8Array;
}
