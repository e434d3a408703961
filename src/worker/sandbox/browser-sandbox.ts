// The browser implementation of the engine's CodeSandbox: a pool of dedicated sandbox workers
// (sandbox.worker.ts explains the isolation and its limits). Call it from the studio worker (nested workers)
// or from the page; each job's limit is enforced here by terminating its worker.

import type { CodeSandbox, SandboxReply, SandboxRunRequest, SandboxWorkerPort } from '../../engine/eval/sandbox';
import { createWorkerPoolSandbox, type WorkerPoolOptions } from '../../engine/eval/sandbox-pool';

function spawnSandboxWorker(): SandboxWorkerPort {
  const worker = new Worker(new URL('./sandbox.worker.ts', import.meta.url), { type: 'module', name: 'tunelab-sandbox' });
  return {
    post(request: SandboxRunRequest) {
      worker.postMessage(request);
    },
    listen(onReply: (reply: SandboxReply) => void, onFailure: (reason: string) => void) {
      worker.onmessage = (event: MessageEvent<SandboxReply>) => onReply(event.data);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        onFailure(event.message || 'its script failed to load');
      };
      worker.onmessageerror = () => onFailure('a message from the worker could not be read');
    },
    terminate() {
      worker.onmessage = null;
      worker.onerror = null;
      worker.terminate();
    },
  };
}

/** A sandbox for the studio: `size` workers (default 1), started when jobs first need them. */
export function createBrowserSandbox(options: WorkerPoolOptions = {}): CodeSandbox {
  return createWorkerPoolSandbox(spawnSandboxWorker, options);
}
