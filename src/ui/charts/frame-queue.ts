// Runs queued tasks one per animation frame, in order: several charts appearing at once are built over
// several frames instead of one long task that would block the page (each uPlot build costs tens of ms
// on a slow machine).

let chain: Promise<void> = Promise.resolve();

/** Queues `task` for its own frame; the returned function cancels it if it has not run yet. */
export function onOwnFrame(task: () => void): () => void {
  let cancelled = false;
  chain = chain.then(
    () =>
      new Promise<void>((resolve) =>
        requestAnimationFrame(() => {
          try {
            if (!cancelled) task();
          } finally {
            resolve();
          }
        }),
      ),
  );
  return () => {
    cancelled = true;
  };
}
