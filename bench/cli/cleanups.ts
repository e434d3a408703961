// What must be undone however the bench ends (the browser, its profile folder, the page server): run on
// Ctrl-C, SIGTERM and the watchdog before the process exits.

export type Cleanups = Set<() => Promise<unknown>>;

/** Runs every clean-up (at most 5 s in all), then exits with `code`. */
export async function cleanUpAndExit(cleanups: Cleanups, code: number, why?: string): Promise<never> {
  if (why) console.error(`bench: ${why}`);
  const all = Promise.allSettled([...cleanups].map((f) => f()));
  await Promise.race([all, new Promise((r) => setTimeout(r, 5000))]);
  process.exit(code);
}

/** Clean-ups on SIGINT / SIGTERM, and a watchdog that gives up after `watchdogS` seconds. */
export function installExitHandlers(cleanups: Cleanups, watchdogS: number): void {
  process.once('SIGINT', () => void cleanUpAndExit(cleanups, 130, 'interrupted'));
  process.once('SIGTERM', () => void cleanUpAndExit(cleanups, 143, 'terminated'));
  setTimeout(() => void cleanUpAndExit(cleanups, 1, `gave up after ${watchdogS} s`), watchdogS * 1000).unref();
}
