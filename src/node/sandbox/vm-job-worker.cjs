// The body of a Node sandbox worker (worker_threads, started with eval: true by node-sandbox.ts, which reads
// this file with Vite's ?raw so that the CLI bundle carries it). CommonJS: eval workers get require.
//
// Each job runs in a FRESH node:vm context created from a null-prototype object (an ordinary `{}` would let
// `this.constructor.constructor('return process')()` reach this worker's realm), into which the shared
// prelude (src/engine/eval/sandbox-runtime.ts) installs the assert module and the lockdown. Only strings
// cross between this realm and the job's: the code and input go in as string properties, the outcome comes
// back as JSON text, and an async job's result is read as a string rather than awaited here, because
// awaiting a promise of the job's realm would hand this realm's resolve functions to code the job controls.
// The context runs its promise jobs itself (microtaskMode 'afterEvaluate'), inside each runInContext call and
// under its timeout: an endless loop, synchronous or made of promises, stops at the limit and this worker
// lives on. As a job's realm has no timers, I/O or messages, a promise still pending once those calls return
// can never settle, and the job fails at once. The host terminates this worker only as a backstop.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const vm = require('node:vm');
const { performance } = require('node:perf_hooks');

const prelude = new vm.Script(workerData.prelude, { filename: 'tunelab-sandbox-prelude.js' });
// Starts the job; returns the outcome text, or 'pending' when the job returned a promise.
const startScript = new vm.Script(
  [
    '(function () {',
    '  const outcome = __tunelabRunJob(__tunelabCode, __tunelabInput);',
    "  if (typeof outcome === 'string') return outcome;",
    '  outcome.then((text) => { __tunelabSettled = text; });',
    "  return 'pending';",
    '})()',
  ].join('\n'),
  { filename: 'tunelab-sandbox-job.js' },
);
const pollScript = new vm.Script("typeof __tunelabSettled === 'string' ? __tunelabSettled : 'pending'");

function runJob(request) {
  const started = performance.now();
  const remaining = () => Math.max(1, Math.ceil(request.timeLimitMs - (performance.now() - started)));
  const ms = () => performance.now() - started;
  const done = (outcomeText) => ({ type: 'done', id: request.id, ms: ms(), outcomeText });
  const stopped = (error, timedOut) => ({ type: 'stopped', id: request.id, ms: ms(), error, timedOut });
  try {
    const context = vm.createContext(Object.create(null), {
      name: `tunelab sandbox job ${request.id}`,
      codeGeneration: { strings: true, wasm: false },
      microtaskMode: 'afterEvaluate',
    });
    context.__tunelabRunJob = prelude.runInContext(context);
    context.__tunelabCode = request.code;
    context.__tunelabInput = request.inputJson;
    let text = startScript.runInContext(context, { timeout: remaining() });
    if (text === 'pending') text = pollScript.runInContext(context, { timeout: remaining() });
    if (text === 'pending') return stopped('the job returned a promise that never settles (the sandbox has no timers or I/O)', false);
    // Only a string leaves: anything else came from code the job controls.
    return typeof text === 'string' ? done(text) : stopped('the sandbox returned no outcome', false);
  } catch (error) {
    if (error && error.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      return stopped(`timed out after ${request.timeLimitMs} ms`, true);
    }
    return stopped(`the sandbox failed: ${error && error.message ? error.message : String(error)}`, false);
  }
}

parentPort.on('message', (request) => {
  parentPort.postMessage(runJob(request));
});
parentPort.postMessage({ type: 'ready' });
