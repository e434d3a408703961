// Which checkpoint a paused or interrupted run continues from (and a run's adapter is saved from): the
// newest one that reads back whole and holds only finite values (engine/train/finite-guard.ts). A run keeps
// two, so when the newest cannot be used (a write cut short, a damaged disk, a checkpoint written before
// that rule) the one before it is, and the run's message says so. None usable: refused, naming each problem.

import type { LoraAdapter } from '../engine/lora/adapter';
import { readCheckpoint, type TrainCheckpoint } from '../engine/train/checkpoint';
import { firstNonFiniteValue } from '../engine/train/finite-guard';
import type { StudioDb } from '../storage/db';
import type { CheckpointRecord, RunRecord } from '../storage/records';
import { runCheckpoints } from '../storage/runs-store';

export interface ResumeCheckpoint {
  checkpoint: TrainCheckpoint;
  /** Why each newer checkpoint was passed over, newest first (empty: the newest was used). */
  skipped: string[];
}

/** Reads a stored checkpoint; `file` names it in errors. */
export type ReadStored = (record: CheckpointRecord, file: string) => TrainCheckpoint;

/** Why `record` cannot be resumed from, or its checkpoint. */
function tryRead(record: CheckpointRecord, read: ReadStored): TrainCheckpoint | string {
  const file = `the checkpoint at step ${record.step}`;
  let checkpoint: TrainCheckpoint;
  try {
    checkpoint = read(record, file);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return message.startsWith(file) ? message : `${file}: ${message}`;
  }
  const bad = firstNonFiniteValue(checkpoint);
  return bad ? `${file}: the ${bad.what} is ${bad.value}` : checkpoint;
}

/** The newest usable of `stored` (newest first); undefined when there is none stored. */
export function newestUsableCheckpoint(
  runName: string,
  stored: readonly CheckpointRecord[],
  read: ReadStored,
): ResumeCheckpoint | undefined {
  if (stored.length === 0) return undefined;
  const skipped: string[] = [];
  for (const record of stored) {
    const result = tryRead(record, read);
    if (typeof result !== 'string') return { checkpoint: result, skipped };
    skipped.push(result);
  }
  throw new Error(`No checkpoint of the run "${runName}" can be resumed from: ${skipped.join('; ')}. Its curve stays saved; start a new run to train again.`);
}

/** The run's newest usable checkpoint in IndexedDB, read into a fresh adapter from `plan` (the run's LoRA on its model) per try. */
export async function resumeCheckpoint(db: StudioDb, run: Pick<RunRecord, 'id' | 'name'>, plan: () => LoraAdapter): Promise<ResumeCheckpoint | undefined> {
  const stored = await runCheckpoints(db, run.id);
  return newestUsableCheckpoint(run.name, stored, (record, file) => readCheckpoint(record.bytes, plan(), file));
}

/** The run's note after falling back to an older checkpoint (undefined when the newest was used). */
export function fallbackNote(resume: ResumeCheckpoint | undefined): string | undefined {
  if (!resume || resume.skipped.length === 0) return undefined;
  return `Could not resume from ${resume.skipped.join('; ')}; resumed from the checkpoint at step ${resume.checkpoint.step} instead.`;
}
