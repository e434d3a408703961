// One tab owns a run: it holds the Web Lock "tunelab-run-<id>" from the moment the run starts (or
// resumes) until its loop has ended and its last status is written. The browser releases the lock when
// the owning worker dies (reload, closed tab), which is how a 'running' record without an owner is found.

export const RUN_LOCK_PREFIX = 'tunelab-run-';

export interface RunLock {
  release(): void;
}

function locks(): LockManager {
  const manager = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!manager) throw new Error('This browser has no Web Locks (navigator.locks): Tunelab cannot keep two tabs from training the same run.');
  return manager;
}

export function runLockName(runId: string): string {
  return RUN_LOCK_PREFIX + runId;
}

/** Takes the run's lock if no tab holds it; null when another tab (or this one) does. */
export function tryLockRun(runId: string): Promise<RunLock | null> {
  return new Promise<RunLock | null>((resolve, reject) => {
    locks()
      .request(runLockName(runId), { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        // Held until release() settles this promise.
        return new Promise<void>((release) => resolve({ release: () => release() }));
      })
      .catch(reject);
  });
}

/** Ids of the runs whose lock some tab of this origin holds now. */
export async function lockedRunIds(): Promise<Set<string>> {
  const { held = [] } = await locks().query();
  return new Set(held.map((l) => l.name ?? '').filter((n) => n.startsWith(RUN_LOCK_PREFIX)).map((n) => n.slice(RUN_LOCK_PREFIX.length)));
}
