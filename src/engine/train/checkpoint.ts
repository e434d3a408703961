// A training checkpoint: everything a resumed run needs to continue the same loss curve — the step, where
// the data order stands (its shuffles derive from the seed), the adapter and AdamW's moments. Dropout masks
// derive from (seed, step), so no other random state exists. Serialised as one safetensors file whose
// metadata holds the JSON fields (checked field by field on reading: checkpoint-meta.ts), so the CLI and the
// studio store the same bytes.

import type { LoraAdapter } from '../lora/adapter';
import { ModelFormatError } from '../model/errors';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../model/safetensors';
import { parseCheckpointMeta, type RunFingerprint } from './checkpoint-meta';
import type { DataCursor } from './data-order';
import type { OptimizerState } from './trainer-backend';

export type { RunFingerprint } from './checkpoint-meta';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

export interface TrainCheckpoint {
  /** Optimizer steps completed. */
  step: number;
  cursor: DataCursor;
  /** What else the step feed needs to continue exactly (GRPO: the generation index and the rollouts in use). */
  feed?: unknown;
  adapter: LoraAdapter;
  optimizer: OptimizerState;
  /** The data and seed the run trained with, so a resume can refuse others (absent in older checkpoints). */
  fingerprint?: RunFingerprint;
}

export function checkpointBytes(c: TrainCheckpoint): Uint8Array {
  const tensors: Record<string, TensorToWrite> = {};
  c.adapter.modules.forEach((m, i) => {
    const r = c.adapter.config.r;
    const a = [r, m.inFeatures];
    const b = [m.outFeatures, r];
    tensors[`${m.path}.A`] = { dtype: 'F32', shape: a, data: m.a };
    tensors[`${m.path}.B`] = { dtype: 'F32', shape: b, data: m.b };
    tensors[`${m.path}.A.exp_avg`] = { dtype: 'F32', shape: a, data: c.optimizer.m[i].a };
    tensors[`${m.path}.B.exp_avg`] = { dtype: 'F32', shape: b, data: c.optimizer.m[i].b };
    tensors[`${m.path}.A.exp_avg_sq`] = { dtype: 'F32', shape: a, data: c.optimizer.v[i].a };
    tensors[`${m.path}.B.exp_avg_sq`] = { dtype: 'F32', shape: b, data: c.optimizer.v[i].b };
  });
  const meta = { step: c.step, cursor: c.cursor, feed: c.feed, optimizerStep: c.optimizer.step, lora: c.adapter.config, fingerprint: c.fingerprint };
  return writeSafetensors(tensors, { format: 'tunelab-checkpoint', state: JSON.stringify(meta) });
}

/**
 * Reads a checkpoint into `adapter` (planned from the run's model and LoRA config; its module list must
 * match) and returns the whole checkpoint. `file` names the source in errors.
 */
export function readCheckpoint(bytes: Uint8Array, adapter: LoraAdapter, file = CHECKPOINT_FILE): TrainCheckpoint {
  const st = readSafetensors(bytes, file);
  if (st.metadata.format !== 'tunelab-checkpoint' || !st.metadata.state) throw new ModelFormatError(file, 'is not a Tunelab training checkpoint');
  const meta = parseCheckpointMeta(st.metadata.state, file);
  const same = JSON.stringify(meta.lora) === JSON.stringify(adapter.config);
  if (!same) throw new ModelFormatError(file, `was written for LoRA ${JSON.stringify(meta.lora)}, this run has ${JSON.stringify(adapter.config)}`);
  const get = (name: string, length: number) => {
    const t = st.tensors.get(name);
    if (!t) throw new ModelFormatError(file, `tensor "${name}" is missing`);
    const data = t.toFloat32();
    if (data.length !== length) throw new ModelFormatError(file, `tensor "${name}" has ${data.length} values, expected ${length}`);
    return data;
  };
  const m: OptimizerState['m'] = [];
  const v: OptimizerState['v'] = [];
  for (const mod of adapter.modules) {
    mod.a.set(get(`${mod.path}.A`, mod.a.length));
    mod.b.set(get(`${mod.path}.B`, mod.b.length));
    m.push({ a: get(`${mod.path}.A.exp_avg`, mod.a.length), b: get(`${mod.path}.B.exp_avg`, mod.b.length) });
    v.push({ a: get(`${mod.path}.A.exp_avg_sq`, mod.a.length), b: get(`${mod.path}.B.exp_avg_sq`, mod.b.length) });
  }
  return { step: meta.step, cursor: meta.cursor, feed: meta.feed, adapter, optimizer: { step: meta.optimizerStep, m, v }, fingerprint: meta.fingerprint };
}
