// What the studio keeps in IndexedDB, record by record. Plain data (structured-clone safe); the worker
// writes, the page reads through the worker. Bytes are stored as Uint8Array.

import type { RecordError } from '../engine/data/read-records';
import type { DatasetFormat } from '../engine/data/formats';
import type { SftRecord } from '../engine/data/sft-examples';
import type { LoraConfig } from '../engine/lora/lora-config';
import type { EvalMetrics, SftRunConfig, StepMetrics } from '../engine/train/sft-loop';

export interface DatasetRecord {
  id: string;
  name: string;
  /** The file it was imported from ("pasted text" for a paste). */
  source: string;
  createdAt: string;
  format: DatasetFormat;
  /** The normalised examples, each with the line it came from. */
  examples: SftRecord[];
  /** Lines the user chose to skip at import, with why. */
  skipped: RecordError[];
  /** Held-out fraction and the seed of the split (the split itself is derived, never stored twice). */
  split: { evalFraction: number; seed: number };
}

/** Where the run's base model came from, so a resumed run (after a reload) can load it again. */
export type ModelRef =
  | { kind: 'hub'; id: string; revision: string; endpoint: string }
  | { kind: 'offline'; id: string }
  /** Files the user picked: they cannot be read again after a reload, so resuming needs them loaded first. */
  | { kind: 'files'; source: string }
  | { kind: 'demo' };

export type RunStatus = 'running' | 'paused' | 'interrupted' | 'completed' | 'stopped' | 'failed';

export interface RunSettings {
  model: ModelRef;
  /** Display name of the model (its id). */
  modelName: string;
  weightFormat: 'f16' | 'f32';
  datasetId: string;
  datasetName: string;
  lora: LoraConfig;
  loop: SftRunConfig;
  maxLength: number;
  completionOnly: boolean;
  /** Checkpoint to IndexedDB every this many steps. */
  checkpointEvery: number;
}

export interface RunRecord {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  settings: RunSettings;
  /** Last step whose metrics are stored. */
  step: number;
  /** Step of the stored checkpoint (0: none yet). */
  checkpointStep: number;
  /** Why it failed or was interrupted, for the page. */
  message?: string;
  /** The adapter saved from this run, once saved. */
  adapterId?: string;
}

/** One row of a run's curves: a training step or an evaluation (with sample generations). */
export type MetricRow =
  | ({ runId: string; kind: 'step' } & StepMetrics)
  | ({ runId: string; kind: 'eval'; samples: { prompt: string; text: string }[] } & EvalMetrics);

export interface CheckpointRecord {
  runId: string;
  step: number;
  /** checkpointBytes() of src/engine/train/checkpoint.ts. */
  bytes: Uint8Array;
  savedAt: string;
}

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
