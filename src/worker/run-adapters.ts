// The adapters a run begins with. A fresh run starts from PEFT's initialisation (B = 0); a run started from a
// saved adapter (the usual recipe: SFT first, then DPO from that adapter) trains a copy of it, and the
// adapter itself, frozen, is DPO's reference. Its PEFT files are copied into the run's reference record when
// the run starts, and a resume reads them back from there, never from the adapters store: deleting or
// renaming the saved adapter never breaks the run.

import { cloneAdapter, initAdapter, planAdapter, type LoraAdapter } from '../engine/lora/adapter';
import { Rng } from '../engine/util/rng';
import { AdapterNotFoundError, getAdapter } from '../storage/adapters-store';
import type { StudioDb } from '../storage/db';
import type { AdapterRecord, ReferenceRecord, RunRecord, RunSettings } from '../storage/records';
import { getReference } from '../storage/references-store';
import { checkAdapterFits } from './adapters-service';
import type { ActiveModel } from './model-session';

export interface StartingAdapter {
  record: AdapterRecord;
  /** Planned for the loaded model and filled from the record's files. */
  adapter: LoraAdapter;
}

/** The saved adapter a new run starts from, checked against the loaded model. */
export async function savedStartingAdapter(db: StudioDb, choice: { id: string; name: string }, model: ActiveModel): Promise<StartingAdapter> {
  const record = await getAdapter(db, choice.id).catch((err: unknown) => {
    if (!(err instanceof AdapterNotFoundError)) throw err;
    throw new Error(`The adapter "${choice.name}" to start from is no longer saved (deleted in another tab?): choose another one.`);
  });
  return { record, adapter: checkAdapterFits(model, record.config, record.weights, record.name) };
}

/** The run's copy of its starting adapter's files (stored with the run). */
export function referenceRecord(runId: string, start: StartingAdapter): ReferenceRecord {
  return { runId, adapterName: start.record.name, config: start.record.config, weights: start.record.weights };
}

/** The frozen starting adapter of a stored run, from its reference record; undefined for a run begun fresh. */
export async function storedReference(db: StudioDb, run: RunRecord, model: ActiveModel): Promise<LoraAdapter | undefined> {
  const from = run.settings.initAdapter;
  if (!from) return undefined;
  const stored = await getReference(db, run.id);
  if (!stored) throw new Error(`The run "${run.name}" started from the adapter "${from.name}", whose copy is missing from storage: start a new run.`);
  return checkAdapterFits(model, stored.config, stored.weights, stored.adapterName);
}

/** The adapter the policy starts from: a copy of the starting adapter (with the run's dropout), or a fresh one. */
export function policyStart(settings: RunSettings, model: ActiveModel, reference: LoraAdapter | undefined): LoraAdapter {
  if (!reference) return initAdapter(planAdapter(model.config.architecture, model.layout, settings.lora), new Rng(settings.loop.seed));
  const policy = cloneAdapter(reference);
  policy.config.dropout = settings.lora.dropout;
  return policy;
}
