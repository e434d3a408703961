// A CodeSandbox over a small pool of workers, for any runtime that can start a worker (Node's worker_threads,
// the browser's Worker): jobs queue in order, each free worker takes the next one, and a job that outlives its
// limit gets its worker terminated and replaced, so one infinite loop (synchronous, or an endless chain of
// promises) never blocks the jobs after it. Platform-free: the runtime only supplies `spawn`.

import type { CodeSandbox, SandboxJob, SandboxOutcome, SandboxReply, SandboxWorkerPort } from './sandbox';
import { SandboxDisposedError } from './sandbox';
import { parseRawOutcome } from './sandbox-runtime';

export interface WorkerPoolOptions {
  /** Workers running jobs at once (default 1); each starts when a job first needs it. */
  size?: number;
  /**
   * Extra ms past a job's limit before the host terminates its worker (default 100). A Node worker stops a
   * synchronous loop by itself at the limit (node:vm's timeout) and stays alive; the kill is the backstop.
   */
  killGraceMs?: number;
  /** How long a new worker may take to report ready before it counts as failed (default 10 s). */
  startTimeoutMs?: number;
}

interface Pending {
  code: string;
  inputJson: string | undefined;
  timeLimitMs: number;
  resolve: (outcome: SandboxOutcome) => void;
  reject: (error: Error) => void;
}

interface Running {
  id: number;
  pending: Pending;
  startedAt: number;
  killTimer: ReturnType<typeof setTimeout>;
}

interface Slot {
  port: SandboxWorkerPort;
  ready: boolean;
  startTimer: ReturnType<typeof setTimeout> | undefined;
  running: Running | undefined;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function failure(error: string, timedOut: boolean, ms: number): SandboxOutcome {
  return { ok: false, error, timedOut, ms, logs: [] };
}

function outcomeOf(reply: Extract<SandboxReply, { type: 'done' | 'stopped' }>): SandboxOutcome {
  if (reply.type === 'stopped') return failure(reply.error, reply.timedOut, reply.ms);
  const raw = parseRawOutcome(reply.outcomeText);
  if (!raw.ok) return { ok: false, error: raw.error, timedOut: false, ms: reply.ms, logs: raw.logs };
  const outcome: SandboxOutcome = { ok: true, timedOut: false, ms: reply.ms, logs: raw.logs };
  if (raw.valueJson !== undefined) {
    try {
      outcome.value = JSON.parse(raw.valueJson);
    } catch {
      return { ok: false, error: 'the job returned an unreadable value', timedOut: false, ms: reply.ms, logs: raw.logs };
    }
  }
  return outcome;
}

export function createWorkerPoolSandbox(spawn: () => SandboxWorkerPort, options: WorkerPoolOptions = {}): CodeSandbox {
  const size = options.size ?? 1;
  const killGraceMs = options.killGraceMs ?? 100;
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`sandbox pool size must be a positive integer, got ${size}`);
  const slots: (Slot | undefined)[] = new Array(size).fill(undefined);
  const queue: Pending[] = [];
  let nextId = 1;
  let disposed = false;

  function start(index: number): void {
    const slot: Slot = { port: spawn(), ready: false, startTimer: undefined, running: undefined };
    slots[index] = slot;
    slot.startTimer = setTimeout(() => retire(slot, `the sandbox worker did not start within ${startTimeoutMs} ms`), startTimeoutMs);
    slot.port.listen(
      (reply) => onReply(slot, reply),
      (reason) => retire(slot, reason),
    );
  }

  function onReply(slot: Slot, reply: SandboxReply): void {
    if (!slots.includes(slot)) return; // a late message from a worker already replaced
    if (reply.type === 'ready') {
      clearTimeout(slot.startTimer);
      slot.ready = true;
    } else if (slot.running !== undefined && reply.id === slot.running.id) {
      const { pending, killTimer } = slot.running;
      clearTimeout(killTimer);
      slot.running = undefined;
      if (reply.retire === true) {
        // Its realm is no longer the pristine one: the next job gets a new worker.
        slots[slots.indexOf(slot)] = undefined;
        slot.port.terminate();
      }
      pending.resolve(outcomeOf(reply));
    }
    pump();
  }

  /** Terminates a slot's worker; its job (or, if it never started, the next queued job) fails with `reason`. */
  function retire(slot: Slot, reason: string, timedOut = false): void {
    const index = slots.indexOf(slot);
    if (index < 0) return;
    slots[index] = undefined;
    clearTimeout(slot.startTimer);
    slot.port.terminate();
    const running = slot.running;
    if (running !== undefined) {
      clearTimeout(running.killTimer);
      running.pending.resolve(failure(timedOut ? reason : `the sandbox worker stopped: ${reason}`, timedOut, now() - running.startedAt));
    } else if (!slot.ready) {
      // A worker that cannot start fails one job per attempt, so a broken runtime never hangs the queue.
      queue.shift()?.resolve(failure(`the sandbox worker could not start: ${reason}`, false, 0));
    }
    pump();
  }

  function pump(): void {
    if (disposed) return;
    for (let i = 0; i < size && queue.length > 0; i++) {
      const slot = slots[i];
      if (slot === undefined) {
        start(i);
        continue;
      }
      if (!slot.ready || slot.running !== undefined) continue;
      const pending = queue.shift()!;
      const id = nextId++;
      const killTimer = setTimeout(
        () => retire(slot, `timed out after ${pending.timeLimitMs} ms`, true),
        pending.timeLimitMs + killGraceMs,
      );
      slot.running = { id, pending, startedAt: now(), killTimer };
      const request = { type: 'run' as const, id, code: pending.code, timeLimitMs: pending.timeLimitMs };
      slot.port.post(pending.inputJson === undefined ? request : { ...request, inputJson: pending.inputJson });
    }
  }

  return {
    run(job: SandboxJob): Promise<SandboxOutcome> {
      if (disposed) return Promise.reject(new SandboxDisposedError());
      if (typeof job.code !== 'string') return Promise.reject(new TypeError('sandbox job code must be a string'));
      if (!(job.timeLimitMs > 0) || !Number.isFinite(job.timeLimitMs)) {
        return Promise.reject(new RangeError(`sandbox job timeLimitMs must be a positive number of ms, got ${job.timeLimitMs}`));
      }
      let inputJson: string | undefined;
      try {
        inputJson = job.input === undefined ? undefined : JSON.stringify(job.input);
      } catch (e) {
        return Promise.reject(new TypeError(`sandbox job input is not JSON-serialisable: ${(e as Error).message}`));
      }
      return new Promise((resolve, reject) => {
        queue.push({ code: job.code, inputJson, timeLimitMs: job.timeLimitMs, resolve, reject });
        pump();
      });
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      const error = new SandboxDisposedError();
      for (let i = 0; i < size; i++) {
        const slot = slots[i];
        if (slot === undefined) continue;
        slots[i] = undefined;
        clearTimeout(slot.startTimer);
        if (slot.running !== undefined) {
          clearTimeout(slot.running.killTimer);
          slot.running.pending.reject(error);
        }
        slot.port.terminate();
      }
      for (const pending of queue.splice(0)) pending.reject(error);
    },
  };
}
