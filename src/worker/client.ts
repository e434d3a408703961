// The page's handle on the studio worker. Calls go through comlink; if the worker cannot start at all
// (a script error, no module-worker support) every call rejects instead of waiting forever.

import * as Comlink from 'comlink';
import type { StudioApi } from './protocol';
import studioWorkerUrl from './studio.worker.ts?worker&url';

export type StudioRemote = Comlink.Remote<StudioApi>;

export interface StudioClient {
  /** Runs `call` against the worker; rejects if the worker has failed. */
  call<R extends PromiseLike<unknown>>(call: (api: StudioRemote) => R): Promise<Awaited<R>>;
}

export class WorkerStartError extends Error {
  override name = 'WorkerStartError';
}

/** Marks a callback so comlink passes it to the worker by reference. */
export const callback = <F extends (...args: never[]) => unknown>(fn: F): F & Comlink.ProxyMarked => Comlink.proxy(fn);

/**
 * Starts the studio worker from a blob: that imports its script. A worker started from a blob: runs under the
 * page's Content-Security-Policy, so the built studio's connect-src also binds the worker, which does every
 * download; one started from its script's URL would get the policy of that script's HTTP response, and a
 * static server sends none (the page's <meta> policy does not reach it).
 */
function startStudioWorker(): Worker {
  const script = new URL(studioWorkerUrl, self.location.href).href;
  const blobUrl = URL.createObjectURL(new Blob([`import ${JSON.stringify(script)};\n`], { type: 'text/javascript' }));
  const worker = new Worker(blobUrl, { type: 'module', name: 'tunelab-studio' });
  // The worker has read the blob once it answers or fails.
  const release = () => URL.revokeObjectURL(blobUrl);
  worker.addEventListener('message', release, { once: true });
  worker.addEventListener('error', release, { once: true });
  return worker;
}

export function connectStudio(): StudioClient {
  let worker: Worker;
  try {
    worker = startStudioWorker();
  } catch (err) {
    const failure = new WorkerStartError(`The studio worker could not be created: ${(err as Error).message}`);
    return { call: () => Promise.reject(failure) };
  }
  // An error before the worker's first reply means it never started; later errors are bugs inside a
  // running worker, which the browser logs and the failing call reports.
  let answered = false;
  worker.addEventListener('message', () => (answered = true), { once: true });
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (ev) => {
      if (answered) return;
      reject(new WorkerStartError(`The studio worker did not start: ${ev.message || 'its script failed to load'}.`));
    });
  });
  failed.catch(() => undefined); // observed through call()
  const api = Comlink.wrap<StudioApi>(worker);
  return { call: (call) => Promise.race([call(api), failed]) };
}
