// A studio database as schema v3 wrote it: created by the shipped 0 -> 1 -> 2 -> 3 migrations of
// src/storage/db.ts, then filled with records the v3 worker saved (SFT and preference datasets, an SFT run and
// a DPO run from a saved adapter with its reference, metric rows with TRL's objective metrics, checkpoints,
// adapters). Used to prove that opening it with today's code keeps every record.

import { openDB, type IDBPDatabase } from 'idb';
import { DB_NAME, upgrade, type StudioDb, type UpgradeTx } from '../../src/storage/db';
import type { AdapterRecord, CheckpointRecord, DatasetRecord, MetricRow, ReferenceRecord, RunRecord } from '../../src/storage/records';
import { V2_ADAPTERS, V2_CHECKPOINTS, V2_DATASETS, V2_PROBE, V2_ROWS, V2_RUNS } from './v2-database';

export const V3_DATASETS: DatasetRecord[] = [
  ...V2_DATASETS.map((d): DatasetRecord => ({ ...d, method: 'sft' })),
  {
    id: 'ds-prefs',
    name: 'Preferences',
    source: 'train.jsonl',
    createdAt: '2025-04-01T00:00:00.000Z',
    method: 'dpo',
    format: 'preference',
    examples: [
      { line: 1, example: { kind: 'text', prompt: 'Setting: a busy meadow.\n', chosen: 'Once upon a time, in a busy meadow,', rejected: 'Once upon a time, in a busy library,' } },
      { line: 2, example: { kind: 'tokens', prompt: [1, 5], chosen: [7, 2], rejected: [8, 2] } },
    ],
    identical: 1,
    skipped: [{ line: 3, message: 'field "rejected" must be a string' }],
    split: { evalFraction: 0.5, seed: 1 },
  },
];

export const V3_RUNS: RunRecord[] = [
  ...V2_RUNS.map((r): RunRecord => ({ ...r, settings: { ...r.settings, method: 'sft' } })),
  {
    id: 'run-dpo',
    name: 'dpo after sft',
    createdAt: '2025-04-02T12:00:00.000Z',
    updatedAt: '2025-04-02T12:03:00.000Z',
    status: 'completed',
    settings: {
      ...V2_RUNS[1].settings,
      method: 'dpo',
      datasetId: 'ds-prefs',
      datasetName: 'Preferences',
      preference: { beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0, simpoGamma: 0.5, orpoLambda: 0.1, maxPromptLength: 128, precomputeRef: true },
      initAdapter: { id: 'adapter-1', name: 'stories adapter' },
    },
    step: 2,
    checkpointStep: 2,
    adapterId: 'adapter-dpo',
  },
];

export const V3_ROWS: MetricRow[] = [
  ...V2_ROWS,
  {
    runId: 'run-dpo',
    kind: 'step',
    step: 1,
    loss: Math.LN2,
    lr: 1e-4,
    grad_norm: 0.25,
    tokens: 256,
    trained_tokens: 128,
    tokens_per_s: 900,
    epoch: 0.5,
    objective: { 'rewards/chosen': 0, 'rewards/rejected': 0, 'rewards/accuracies': 0, 'rewards/margins': 0 },
  },
  { runId: 'run-dpo', kind: 'eval', step: 2, eval_loss: 0.6, eval_tokens: 64, objective: { 'eval_rewards/margins': 0.2 }, samples: [] },
];

export const V3_CHECKPOINTS: CheckpointRecord[] = [
  ...V2_CHECKPOINTS,
  { runId: 'run-dpo', step: 2, bytes: Uint8Array.from([9, 8, 7, 6]), savedAt: '2025-04-02T12:03:00.000Z' },
];

export const V3_ADAPTERS: AdapterRecord[] = [
  ...V2_ADAPTERS,
  {
    id: 'adapter-dpo',
    name: 'dpo adapter',
    createdAt: '2025-04-02T12:04:00.000Z',
    runId: 'run-dpo',
    baseModel: 'demo',
    config: { peft_type: 'LORA', r: 4 },
    weights: Uint8Array.from([4, 3, 2, 1]),
  },
];

export const V3_REFERENCES: ReferenceRecord[] = [
  { runId: 'run-dpo', adapterName: 'stories adapter', config: { peft_type: 'LORA', r: 4 }, weights: Uint8Array.from([1, 2, 3, 250, 251]) },
];

/** Creates the database at version 3 in the current indexedDB, with every record above, and closes it. */
export async function writeV3Database(): Promise<void> {
  // The shipped migrations only, exactly as v3 ran them (v3's DB_VERSION was 3).
  const created: IDBPDatabase = await openDB(DB_NAME, 3, {
    upgrade: (db, oldVersion, _newVersion, tx) => upgrade(db as unknown as StudioDb, oldVersion, 3, tx as unknown as UpgradeTx),
  });
  const stores = ['meta', 'datasets', 'runs', 'metrics', 'checkpoints', 'adapters', 'references'];
  const tx = created.transaction(stores, 'readwrite');
  await Promise.all([
    tx.objectStore('meta').put(V2_PROBE, 'storage-probe'),
    ...V3_DATASETS.map((d) => tx.objectStore('datasets').put(d)),
    ...V3_RUNS.map((r) => tx.objectStore('runs').put(r)),
    ...V3_ROWS.map((r) => tx.objectStore('metrics').put(r)),
    ...V3_CHECKPOINTS.map((c) => tx.objectStore('checkpoints').put(c)),
    ...V3_ADAPTERS.map((a) => tx.objectStore('adapters').put(a)),
    ...V3_REFERENCES.map((r) => tx.objectStore('references').put(r)),
    tx.done,
  ]);
  created.close();
}
