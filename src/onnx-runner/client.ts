// The page's handle on an ONNX runner worker: created when a panel runs an export, terminated when it closes
// (terminating frees onnxruntime's wasm memory and GPU device with the thread). If the worker cannot start,
// every call rejects instead of waiting forever.

import * as Comlink from 'comlink';
import type { OnnxRunnerApi } from './protocol';

export type OnnxRunnerRemote = Comlink.Remote<OnnxRunnerApi>;

export interface OnnxRunnerClient {
  call<R extends PromiseLike<unknown>>(call: (api: OnnxRunnerRemote) => R): Promise<Awaited<R>>;
  /** Ends the worker; calls still waiting reject. */
  terminate(): void;
}

export function connectOnnxRunner(): OnnxRunnerClient {
  let worker: Worker;
  try {
    worker = new Worker(new URL('./onnx-runner.worker.ts', import.meta.url), { type: 'module', name: 'tunelab-onnx-runner' });
  } catch (err) {
    const failure = new Error(`The ONNX runner worker could not be created: ${(err as Error).message}`);
    return { call: () => Promise.reject(failure), terminate: () => undefined };
  }
  let answered = false;
  worker.addEventListener('message', () => (answered = true), { once: true });
  let rejectAll: (reason: Error) => void = () => undefined;
  const ended = new Promise<never>((_, reject) => (rejectAll = reject));
  ended.catch(() => undefined); // observed through call()
  worker.addEventListener('error', (ev) => {
    if (!answered) rejectAll(new Error(`The ONNX runner worker did not start: ${ev.message || 'its script failed to load'}.`));
  });
  const api = Comlink.wrap<OnnxRunnerApi>(worker);
  return {
    call: (call) => Promise.race([call(api), ended]),
    terminate() {
      rejectAll(new Error('The ONNX runner was closed.'));
      worker.terminate();
    },
  };
}
