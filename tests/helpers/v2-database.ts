// A studio database as schema v2 wrote it: created by the shipped 0 -> 1 and 1 -> 2 migrations of
// src/storage/db.ts, then filled with the records the v2 worker saved (datasets and runs without a method).
// Used to prove that opening it with today's code keeps every record.

import { openDB, type IDBPDatabase } from 'idb';
import { DB_NAME, upgrade, type StudioDb, type UpgradeTx } from '../../src/storage/db';
import type { DatasetV2, RunV2 } from '../../src/storage/migrate-v3';
import type { AdapterRecord, CheckpointRecord, MetricRow } from '../../src/storage/records';

export const V2_DATASETS: DatasetV2[] = [
  {
    id: 'ds-stories',
    name: 'Bedtime stories',
    source: 'stories.jsonl',
    createdAt: '2025-03-01T10:00:00.000Z',
    format: 'language-modeling',
    examples: [
      { line: 1, example: { kind: 'text', text: 'Once upon a time there was a fox.' } },
      {
        line: 3,
        example: {
          kind: 'chat',
          messages: [
            { role: 'system', content: 'Tell short stories.', train: false },
            { role: 'user', content: 'A story about a cat?', train: false },
            { role: 'assistant', content: 'The cat slept all day.', train: true },
          ],
        },
      },
      { line: 4, example: { kind: 'text', text: 'The end.' } },
    ],
    skipped: [{ line: 2, message: 'is not valid JSON (Unexpected token } in JSON at position 9)' }],
    split: { evalFraction: 0.25, seed: 7 },
  },
  {
    id: 'ds-qa',
    name: 'Questions',
    source: 'pasted text',
    createdAt: '2025-03-02T09:30:00.000Z',
    format: 'prompt-completion',
    examples: [
      { line: 1, example: { kind: 'prompt-completion', prompt: '2 + 2 =', completion: ' 4' } },
      {
        line: 2,
        example: {
          kind: 'chat-prompt-completion',
          prompt: [{ role: 'user', content: 'Capital of France?', train: false }],
          completion: [{ role: 'assistant', content: 'Paris.', train: true }],
        },
      },
    ],
    skipped: [
      { line: 3, message: 'field "completion" must be a string' },
      { line: 5, message: 'has fields "question", expected prompt-completion ({"prompt", "completion"})' },
    ],
    split: { evalFraction: 0, seed: 0 },
  },
  {
    id: 'ds-tokens',
    name: 'Token ids',
    source: 'ids.jsonl',
    createdAt: '2025-03-03T08:00:00.000Z',
    format: 'pre-tokenized',
    examples: [
      { line: 1, example: { kind: 'tokens', inputIds: [1, 15, 27, 2] } },
      { line: 2, example: { kind: 'tokens', inputIds: [1, 8, 9, 2], completionMask: [0, 0, 1, 1] } },
    ],
    skipped: [],
    split: { evalFraction: 0.5, seed: 3 },
  },
];

const loop = {
  batchSize: 4,
  gradAccum: 2,
  steps: 40,
  lr: 2e-4,
  scheduler: 'cosine',
  warmupSteps: 4,
  maxGradNorm: 1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  evalEvery: 2,
  saveEvery: 10,
  seed: 42,
} as const;

export const V2_RUNS: RunV2[] = [
  {
    id: 'run-paused',
    name: 'stories on SmolLM2',
    createdAt: '2025-03-04T12:00:00.000Z',
    updatedAt: '2025-03-04T12:05:00.000Z',
    status: 'paused',
    settings: {
      model: { kind: 'hub', id: 'HuggingFaceTB/SmolLM2-135M', revision: 'main', endpoint: 'https://huggingface.co' },
      modelName: 'HuggingFaceTB/SmolLM2-135M',
      weightFormat: 'f16',
      datasetId: 'ds-stories',
      datasetName: 'Bedtime stories',
      lora: { r: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'], useRslora: false },
      loop,
      maxLength: 256,
      completionOnly: true,
      checkpointEvery: 2,
    },
    step: 3,
    checkpointStep: 2,
    message: 'Paused: storage is full: 52.4 MB used of 53 MB; delete old runs or adapters',
    adapterId: 'adapter-1',
  },
  {
    id: 'run-done',
    name: 'qa demo',
    createdAt: '2025-03-05T12:00:00.000Z',
    updatedAt: '2025-03-05T12:01:00.000Z',
    status: 'completed',
    settings: {
      model: { kind: 'demo' },
      modelName: 'demo',
      weightFormat: 'f32',
      datasetId: 'ds-qa',
      datasetName: 'Questions',
      lora: { r: 4, alpha: 4, dropout: 0, targets: ['all-linear'], useRslora: true },
      loop: { ...loop, scheduler: 'constant', steps: 1 },
      maxLength: 64,
      completionOnly: false,
      checkpointEvery: 1,
    },
    step: 1,
    checkpointStep: 1,
  },
];

const stepRow = (runId: string, step: number): MetricRow => ({
  runId,
  kind: 'step',
  step,
  loss: 3 - step / 10,
  lr: 2e-4 * step,
  grad_norm: 0.5 + step,
  tokens: 1024,
  trained_tokens: 512 + step,
  tokens_per_s: 2048.5,
  epoch: step / 8,
});

/** In step order, as runRows() returns them. */
export const V2_ROWS: MetricRow[] = [
  { runId: 'run-paused', kind: 'eval', step: 0, eval_loss: 3.2, eval_perplexity: Math.exp(3.2), eval_tokens: 300, samples: [{ prompt: 'Once', text: ' upon' }] },
  stepRow('run-paused', 1),
  stepRow('run-paused', 2),
  {
    runId: 'run-paused',
    kind: 'eval',
    step: 2,
    eval_loss: 2.9,
    eval_perplexity: Math.exp(2.9),
    eval_tokens: 300,
    samples: [
      { prompt: 'Once', text: ' upon a time' },
      { prompt: 'The cat', text: ' slept' },
    ],
  },
  stepRow('run-paused', 3),
  stepRow('run-done', 1),
];

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

export const V2_CHECKPOINTS: CheckpointRecord[] = [
  { runId: 'run-paused', step: 2, bytes: bytes(4096, 1), savedAt: '2025-03-04T12:04:00.000Z' },
  { runId: 'run-done', step: 1, bytes: bytes(512, 2), savedAt: '2025-03-05T12:01:00.000Z' },
];

export const V2_ADAPTERS: AdapterRecord[] = [
  {
    id: 'adapter-1',
    name: 'stories adapter',
    createdAt: '2025-03-04T12:06:00.000Z',
    runId: 'run-paused',
    baseModel: 'HuggingFaceTB/SmolLM2-135M',
    config: { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M' },
    weights: bytes(2048, 3),
  },
  {
    id: 'adapter-imported',
    name: 'imported',
    createdAt: '2025-03-06T08:00:00.000Z',
    baseModel: 'demo',
    config: { peft_type: 'LORA', r: 4 },
    weights: bytes(256, 4),
  },
];

export const V2_PROBE = { token: 'probe-token', writtenAt: '2025-03-01T00:00:00.000Z' };

/** Creates the database at version 2 in the current indexedDB, with every record above, and closes it. */
export async function writeV2Database(): Promise<void> {
  // The shipped migrations only, exactly as v2 ran them (v2's DB_VERSION was 2).
  const created: IDBPDatabase = await openDB(DB_NAME, 2, {
    upgrade: (db, oldVersion, _newVersion, tx) => upgrade(db as unknown as StudioDb, oldVersion, 2, tx as unknown as UpgradeTx),
  });
  const tx = created.transaction(['meta', 'datasets', 'runs', 'metrics', 'checkpoints', 'adapters'], 'readwrite');
  await Promise.all([
    tx.objectStore('meta').put(V2_PROBE, 'storage-probe'),
    ...V2_DATASETS.map((d) => tx.objectStore('datasets').put(d)),
    ...V2_RUNS.map((r) => tx.objectStore('runs').put(r)),
    ...V2_ROWS.map((r) => tx.objectStore('metrics').put(r)),
    ...V2_CHECKPOINTS.map((c) => tx.objectStore('checkpoints').put(c)),
    ...V2_ADAPTERS.map((a) => tx.objectStore('adapters').put(a)),
    tx.done,
  ]);
  created.close();
}
