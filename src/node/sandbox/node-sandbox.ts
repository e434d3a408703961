// The Node implementation of the engine's CodeSandbox (src/engine/eval/sandbox.ts): a pool of
// worker_threads, each running jobs in a fresh node:vm context (see vm-job-worker.cjs). The worker is
// started from source text (eval: true) so the same code runs under Vitest and inside the CLI's bundle.
// Memory limits make a job that allocates without bound crash its worker (the job fails, the pool starts
// a new one) instead of the CLI; the worker gets an empty environment and no stdin.

import { Worker } from 'node:worker_threads';
import type { CodeSandbox, SandboxReply, SandboxRunRequest, SandboxWorkerPort } from '../../engine/eval/sandbox';
import { createWorkerPoolSandbox, type WorkerPoolOptions } from '../../engine/eval/sandbox-pool';
import { SANDBOX_PRELUDE_SOURCE } from '../../engine/eval/sandbox-runtime';
import workerSource from './vm-job-worker.cjs?raw';

export interface NodeSandboxOptions extends WorkerPoolOptions {
  /** V8 old-generation limit of each worker in MiB (default 256). */
  maxMemoryMb?: number;
}

function spawnVmWorker(maxMemoryMb: number): SandboxWorkerPort {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { prelude: SANDBOX_PRELUDE_SOURCE },
    env: {},
    stdin: false,
    resourceLimits: { maxOldGenerationSizeMb: maxMemoryMb, maxYoungGenerationSizeMb: 32 },
  });
  return {
    post(request: SandboxRunRequest) {
      worker.postMessage(request);
    },
    listen(onReply: (reply: SandboxReply) => void, onFailure: (reason: string) => void) {
      worker.on('message', onReply);
      worker.on('error', (error: Error) => onFailure(error.message));
      worker.on('exit', (code: number) => onFailure(`the worker exited with code ${code}`));
      // An idle worker must not keep the CLI's process alive (after the listeners: adding one refs it again).
      // While a job runs, the pool's kill timer holds the process open.
      worker.unref();
    },
    terminate() {
      worker.removeAllListeners();
      void worker.terminate();
    },
  };
}

/** A sandbox for Node (CLI, tests): `size` workers (default 1), each job in a fresh vm context. */
export function createNodeSandbox(options: NodeSandboxOptions = {}): CodeSandbox {
  const maxMemoryMb = options.maxMemoryMb ?? 256;
  return createWorkerPoolSandbox(() => spawnVmWorker(maxMemoryMb), options);
}
