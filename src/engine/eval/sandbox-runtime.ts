// The source text that every sandbox runs inside its own realm before any job: the node:assert equivalent,
// the lockdown that leaves only JavaScript's built-ins, and the job runner. It is text, not a module, because
// it must be evaluated in the realm that runs the jobs (a fresh node:vm context per job in Node, the
// dedicated sandbox worker in the browser), so that no host object is ever reachable from a job.
// The pieces are plain JavaScript files (sandbox-runtime/*.js) read with Vite's ?raw, as the WGSL shaders are.
//
// The composed text is one expression whose value is the job runner:
//   runJob(code: string, inputJson: string | undefined): string | Promise<string>
// returning the outcome as JSON text ({ ok, valueJson?, error?, logs }, see SandboxRawOutcome).

import assertSource from './sandbox-runtime/assert.js?raw';
import lockdownSource from './sandbox-runtime/lockdown.js?raw';
import runJobSource from './sandbox-runtime/run-job.js?raw';

export const SANDBOX_PRELUDE_SOURCE = [
  '(function tunelabSandboxPrelude() {',
  "'use strict';",
  assertSource,
  lockdownSource,
  runJobSource,
  // The real Function constructor compiles jobs; lockdown.js then takes it away from them.
  'const CompileFunction = Function;',
  'const assertModule = createAssertModule();',
  'const leftovers = lockDownRealm(globalThis);',
  'return createJobRunner(CompileFunction, assertModule, leftovers);',
  '})()',
].join('\n');

/** What the runner returns, parsed from its JSON text. */
export interface SandboxRawOutcome {
  ok: boolean;
  /** JSON of the job's value (absent when the value is undefined or the job failed). */
  valueJson?: string;
  error?: string;
  logs: string[];
}

/** Parses the runner's JSON text, checking every field (the text comes from inside the sandbox). */
export function parseRawOutcome(text: unknown): SandboxRawOutcome {
  if (typeof text !== 'string') return { ok: false, error: 'the sandbox returned no outcome', logs: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, error: 'the sandbox returned an unreadable outcome', logs: [] };
  }
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const logs = Array.isArray(record.logs) ? record.logs.filter((l): l is string => typeof l === 'string') : [];
  if (record.ok === true) {
    return typeof record.valueJson === 'string' ? { ok: true, valueJson: record.valueJson, logs } : { ok: true, logs };
  }
  return { ok: false, error: typeof record.error === 'string' ? record.error : 'the job failed without a message', logs };
}
