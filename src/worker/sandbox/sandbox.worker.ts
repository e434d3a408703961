// The browser's code sandbox: a dedicated module Worker that runs untrusted JavaScript (HumanEval
// completions with their tests, a user's custom metric) for createBrowserSandbox (browser-sandbox.ts), which
// may start it from the page or from the studio worker.
//
// Why this is the isolation we rely on:
//  - A dedicated worker is its own JavaScript realm and thread: no DOM, no access to the page's or the studio
//    worker's objects, memory or IndexedDB handles; it talks to its parent only through messages. A job that
//    never ends cannot freeze the page or the studio: the parent terminates the worker at the job's limit
//    (sandbox-pool.ts) and starts another.
//  - Before any job, the shared prelude (src/engine/eval/sandbox-runtime.ts, lockdown.js) turns every global
//    that is not an ECMAScript built-in, on the worker's global object and on its prototype chain
//    (DedicatedWorkerGlobalScope, WorkerGlobalScope, EventTarget), into an accessor that throws: fetch,
//    XMLHttpRequest, WebSocket, EventSource, WebTransport, importScripts, indexedDB, caches, navigator (and
//    with it sendBeacon, storage, locks, gpu), BroadcastChannel, Worker, SharedWorker, FontFace, postMessage,
//    timers... An allowlist, so an API a browser adds later is removed too. If a network or storage API
//    cannot be removed (a non-configurable property), the worker refuses every job instead of running it.
//  - No property can block dynamic import(), which fetches a module. So jobs get no eval, no Function
//    constructors (nor the async and generator ones reached through a function's .constructor), no string
//    timers, and the runner refuses source text that contains the word `import` at all.
//  - This file keeps the two capabilities it needs (postMessage to answer, setTimeout to wait for the job's
//    promise jobs to drain) in closures that no job can reach.
//
// Its limits:
//  - It is a same-origin worker: the lockdown is JavaScript-level, not a browser security boundary like a
//    cross-origin iframe or a CSP. A flaw in it (a global the allowlist lets through that can reach the
//    network, a way to compile code it missed) would give a job the worker's network access, though still no
//    access to the studio's data, which lives in other realms.
//  - Jobs share this realm one after another. A job that changes the realm (adds a global, patches a
//    built-in's method) is detected after it ends and the worker is replaced, but a change made and undone
//    within one job, or one in an object this check does not visit, would carry over to the next job.
//  - CPU and memory: a job can use one core until its limit and as much memory as the browser allows a
//    worker; the tab's other work goes on meanwhile (separate thread).
//  - The prelude is evaluated with indirect eval: a Content-Security-Policy without 'unsafe-eval' stops this
//    worker from starting (every job then fails with that reason).

import type { SandboxReply, SandboxRunRequest } from '../../engine/eval/sandbox';
import { SANDBOX_PRELUDE_SOURCE } from '../../engine/eval/sandbox-runtime';
import { realmFingerprint, sameFingerprint } from './realm-fingerprint';

type RunJob = (code: string, inputJson: string | undefined) => string | Promise<string>;

const scope = globalThis as unknown as DedicatedWorkerGlobalScope;
// Captured before the lockdown takes them off the global scope.
const postMessage = scope.postMessage.bind(scope);
const post = (reply: SandboxReply): void => postMessage(reply);
const later = setTimeout.bind(globalThis);
const now = performance.now.bind(performance);
const NEVER_SETTLES = 'the job returned a promise that never settles (the sandbox has no timers or I/O)';

scope.addEventListener('message', (event: MessageEvent<SandboxRunRequest>) => run(event.data));

const runJob = (0, eval)(SANDBOX_PRELUDE_SOURCE) as RunJob;
const pristine = realmFingerprint();
post({ type: 'ready' });

function run(request: SandboxRunRequest): void {
  const started = now();
  let outcomeText: string | undefined;
  let failure: string | undefined;
  try {
    const result = runJob(request.code, request.inputJson);
    if (typeof result === 'string') outcomeText = result;
    else
      result.then(
        (text) => (outcomeText = text),
        (error: unknown) => (failure = `the sandbox failed: ${String(error)}`),
      );
  } catch (error) {
    failure = `the sandbox failed: ${String(error)}`;
  }
  // A task runs only once the microtask queue is empty: by then every promise job of the job has run (an
  // endless chain of them never lets this run, and the parent's kill ends it). As the realm has no timers,
  // I/O or messages left, a promise still pending now can never settle.
  later(() => {
    const ms = now() - started;
    const retire = !sameFingerprint(pristine, realmFingerprint());
    if (outcomeText !== undefined) post({ type: 'done', id: request.id, ms, outcomeText, retire });
    else post({ type: 'stopped', id: request.id, ms, error: failure ?? NEVER_SETTLES, timedOut: false, retire });
  }, 0);
}
