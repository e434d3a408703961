// The record rewrites of the 2 -> 3 migration (schema v3): every dataset and every run saved before v3 is
// SFT, so each gets `method: 'sft'` (a dataset at its top level, a run in its settings) and keeps every
// other field as it was. Runs inside the upgrade transaction, one record at a time.

import type { UpgradeTx } from './db';
import type { DatasetRecord, RunRecord } from './records';

/** What v2 stored: the v3 shapes without the method. */
export type DatasetV2 = Omit<Extract<DatasetRecord, { method: 'sft' }>, 'method'>;
export type RunV2 = Omit<RunRecord, 'settings'> & { settings: Omit<RunRecord['settings'], 'method'> };

async function markDatasets(tx: UpgradeTx): Promise<void> {
  for (let cursor = await tx.objectStore('datasets').openCursor(); cursor; cursor = await cursor.continue()) {
    const old = cursor.value as unknown as DatasetV2;
    await cursor.update({ ...old, method: 'sft' });
  }
}

async function markRuns(tx: UpgradeTx): Promise<void> {
  for (let cursor = await tx.objectStore('runs').openCursor(); cursor; cursor = await cursor.continue()) {
    const old = cursor.value as unknown as RunV2;
    await cursor.update({ ...old, settings: { ...old.settings, method: 'sft' } });
  }
}

export async function markSavedAsSft(tx: UpgradeTx): Promise<void> {
  await markDatasets(tx);
  await markRuns(tx);
}
