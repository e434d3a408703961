// What a run's status means for the page, and which runs may do what: the messages of an interrupted or
// refused run, and the runs left 'running' by a tab that no longer exists.

import type { RunRecord } from '../storage/records';

export const OTHER_TAB_MESSAGE = 'this run is running in another tab';

/** Where a resume starts: the checkpoint, or the beginning when none was saved. */
function resumePoint(run: Pick<RunRecord, 'checkpointStep'>): string {
  return run.checkpointStep > 0 ? `the checkpoint at step ${run.checkpointStep}` : 'the start (no checkpoint was saved yet)';
}

/** A run trained on picked files can only resume once the same files are loaded again. */
export function filesNote(run: Pick<RunRecord, 'settings'>): string | undefined {
  const ref = run.settings.model;
  if (ref.kind !== 'files') return undefined;
  return `Trained on picked files (${ref.source}): to resume after a reload, load the same files on the Model page first.`;
}

function withFilesNote(run: Pick<RunRecord, 'settings'>, message: string): string {
  const note = filesNote(run);
  return note ? `${message} ${note}` : message;
}

/** Why a run marked 'running' has no owner any more. */
export function interruptedMessage(run: Pick<RunRecord, 'step' | 'checkpointStep' | 'settings'>): string {
  return withFilesNote(
    run,
    `Interrupted after step ${run.step}: the page was reloaded or closed, or its GPU device was lost. Resume continues from ${resumePoint(run)}.`,
  );
}

export function deviceLostMessage(run: Pick<RunRecord, 'step' | 'checkpointStep' | 'settings'>, deviceMessage: string): string {
  return withFilesNote(run, `${deviceMessage} Interrupted after step ${run.step}; reload the page and resume from ${resumePoint(run)}.`);
}

export function storageFullRunMessage(run: Pick<RunRecord, 'checkpointStep' | 'settings'>, storageMessage: string): string {
  const text = storageMessage.charAt(0).toUpperCase() + storageMessage.slice(1);
  return withFilesNote(run, `${text}. The run is paused; it resumes from ${resumePoint(run)}.`);
}

/** A run paused because a newer Tunelab in another tab upgraded the database (nothing more could be stored). */
export function storageUpgradedRunMessage(run: Pick<RunRecord, 'step' | 'checkpointStep' | 'settings'>, upgradedMessage: string): string {
  return withFilesNote(run, `${upgradedMessage} The run is paused after step ${run.step}; after the reload, resume continues from ${resumePoint(run)}.`);
}

/** Runs whose record says 'running' although no tab holds their lock: their tab is gone. */
export function orphanedRuns(runs: readonly RunRecord[], locked: ReadonlySet<string>): RunRecord[] {
  return runs.filter((r) => r.status === 'running' && !locked.has(r.id));
}

/** Why `run` cannot be resumed, or null. `lockedElsewhere`: another tab holds its lock. */
export function resumeProblem(run: RunRecord, lockedElsewhere: boolean): string | null {
  if (lockedElsewhere) return `${OTHER_TAB_MESSAGE}: pause it there, or close that tab, before resuming it here.`;
  switch (run.status) {
    case 'completed':
      return `The run "${run.name}" has completed all ${run.settings.loop.steps} steps.`;
    case 'stopped':
      return `The run "${run.name}" was stopped for good: start a new run to train further.`;
    case 'running':
    case 'paused':
    case 'interrupted':
    case 'failed':
      // 'running' without an owner is an interrupted run whose record was not updated yet.
      return null;
  }
}
