// The code sandbox as the engine sees it: run untrusted JavaScript (HumanEval completions with their tests,
// a user's custom metric) with a time limit, no network, no storage and no host objects. Two
// implementations share this interface and the worker protocol below: src/node/sandbox (worker_threads +
// a fresh node:vm context per job) and src/worker/sandbox (a dedicated browser Worker). Both run the same
// in-realm runtime (sandbox-runtime.ts), so a job behaves the same in the CLI and in the studio.

/** One piece of code to run. */
export interface SandboxJob {
  /**
   * A function body. Its parameters are `input` (the parsed `input` below), `require` (only 'node:assert')
   * and `console` (lines collected into the outcome); what it returns, or what its returned promise
   * resolves to, is the job's value and must be JSON-serialisable.
   */
  code: string;
  /** Wall-clock limit in ms; past it the job fails with timedOut, and a worker stuck in it is replaced. */
  timeLimitMs: number;
  /** JSON-serialisable data handed to the code as `input`. */
  input?: unknown;
}

/** What running a job gave. A failure is an outcome, never a rejection. */
export interface SandboxOutcome {
  /** The code ran to its end (and its promise, if it returned one, resolved) without throwing. */
  ok: boolean;
  /** The job's value, parsed back from JSON (absent when undefined or when the job failed). */
  value?: unknown;
  /** What went wrong: the thrown error as "Name: message", a timeout, or a crashed worker. */
  error?: string;
  timedOut: boolean;
  /** Wall-clock time of the job in ms. */
  ms: number;
  /** console.* lines the job wrote (at most 200, each cut at 2000 characters). */
  logs: string[];
}

export interface CodeSandbox {
  /** Runs a job once a worker is free; jobs queue in order. Rejects only after dispose(). */
  run(job: SandboxJob): Promise<SandboxOutcome>;
  /** Terminates every worker; queued and running jobs reject with SandboxDisposedError. */
  dispose(): void;
}

export class SandboxDisposedError extends Error {
  constructor() {
    super('the sandbox was disposed before the job finished');
    this.name = 'SandboxDisposedError';
  }
}

// ---- The protocol between a sandbox's host side and its worker ----

/** Host -> worker: run one job. `inputJson` is JSON.stringify(job.input), absent when input is undefined. */
export interface SandboxRunRequest {
  type: 'run';
  id: number;
  code: string;
  inputJson?: string;
  timeLimitMs: number;
}

/** Worker -> host. */
export type SandboxReply =
  /** The worker installed its runtime and takes jobs. */
  | { type: 'ready' }
  /**
   * The job ended; `outcomeText` is the in-realm runner's JSON text (see sandbox-runtime.ts). `retire`: the
   * job changed the worker's realm (a global, a built-in's method), so the host replaces the worker before
   * the next job (the browser's worker runs many jobs in one realm; Node's makes a fresh one per job).
   */
  | { type: 'done'; id: number; ms: number; outcomeText: string; retire?: boolean }
  /** The runtime stopped the job (its own timeout, a sandbox failure) before the runner answered. */
  | { type: 'stopped'; id: number; ms: number; error: string; timedOut: boolean; retire?: boolean };

/** A worker seen from the host: what the pool needs from Node's and the browser's Worker. */
export interface SandboxWorkerPort {
  post(request: SandboxRunRequest): void;
  /** Registers the handlers for the worker's replies and for its death (load error, crash, exit). */
  listen(onReply: (reply: SandboxReply) => void, onFailure: (reason: string) => void): void;
  terminate(): void;
}
