// The browser's code sandbox (src/worker/sandbox) in Chromium: the same jobs as the Node tests, run through
// createBrowserSandbox from a page. The built studio does not serve the sandbox on its own page, so this
// file serves the sources with a Vite dev server (which bundles the worker as the build does) and imports
// the factory in a page of that origin.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHumanEvalJsonl, humanEvalProgram } from '../../src/engine/eval/suites/humaneval';
import type { SandboxJob, SandboxOutcome } from '../../src/engine/eval/sandbox';
import { startCanaryServer, type CanaryServer } from '../helpers/canary-server';
import { launchChromium, type TestBrowser } from './browser';

const root = fileURLToPath(new URL('../..', import.meta.url));
const HUMANEVAL = parseHumanEvalJsonl(readFileSync(resolve(root, '../shared/assets/datasets/humaneval-js/humaneval-js.jsonl'), 'utf8'), 'humaneval-js.jsonl').items;
const gcd = HUMANEVAL.find((i) => i.name === 'HumanEval_13_greatest_common_divisor')!;
const LIMIT = 5000; // for jobs that finish (a few ms each)
const LOOP_LIMIT = 500;

let vite: ViteDevServer;
let browser: TestBrowser;
let canary: CanaryServer;

beforeAll(async () => {
  vite = await createServer({
    root,
    configFile: false,
    logLevel: 'warn',
    appType: 'custom',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await vite.listen();
  canary = await startCanaryServer();
  browser = await launchChromium({ webgpu: false });
});

afterAll(async () => {
  await browser?.close();
  await vite?.close();
  await canary?.close();
});

/** Runs the jobs in order through one createBrowserSandbox in a fresh page; returns their outcomes. */
async function runInBrowser(jobs: SandboxJob[]): Promise<{ outcomes: SandboxOutcome[]; workersStarted: number; errors: string[] }> {
  const { page, errors } = await browser.newPage();
  const base = vite.resolvedUrls!.local[0];
  // An empty page of the dev server's origin (its own 404 page forbids scripts).
  await page.route(`${base}sandbox-test.html`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>sandbox</title>' }));
  await page.goto(`${base}sandbox-test.html`);
  // Source text, not a function: Vitest rewrites import() inside the test's own functions.
  // The page counts the sandbox workers started: one, plus one after each kill or realm change.
  const script = `(async (list) => {
    let workersStarted = 0;
    const RealWorker = Worker;
    globalThis.Worker = class extends RealWorker { constructor(...args) { super(...args); workersStarted++; } };
    const { createBrowserSandbox } = await import('/src/worker/sandbox/browser-sandbox.ts');
    const sandbox = createBrowserSandbox({ killGraceMs: 50 });
    const out = [];
    for (const job of list) out.push(await sandbox.run(job));
    sandbox.dispose();
    return { out, workersStarted };
  })(${JSON.stringify(jobs)})`;
  const { out: outcomes, workersStarted } = (await page.evaluate(script)) as { out: SandboxOutcome[]; workersStarted: number };
  await page.close();
  return { outcomes, workersStarted, errors };
}

describe('browser code sandbox', () => {
  it('runs HumanEval programs with a loose deepEqual and blocks every network and storage API, reaching nothing', async () => {
    const url = canary.url;
    const attempts: Record<string, string> = {
      fetch: `return fetch('${url}/fetch')`,
      xhr: `const x = new XMLHttpRequest(); x.open('GET', '${url}/xhr'); x.send();`,
      webSocket: `new WebSocket('${url.replace('http', 'ws')}/ws')`,
      eventSource: `new EventSource('${url}/sse')`,
      importScripts: `importScripts('${url}/script.js')`,
      indexedDB: `globalThis.indexedDB.open('stolen')`,
      caches: `return caches.open('stolen')`,
      sendBeacon: `navigator.sendBeacon('${url}/beacon', 'x')`,
      storageManager: `return navigator.storage.getDirectory()`,
      broadcast: `new BroadcastChannel('tunelab').postMessage('x')`,
      nestedWorker: `new Worker('${url}/worker.js')`,
      postMessage: `postMessage({ type: 'done', id: 1, ms: 0, outcomeText: '{"ok":true,"logs":[]}' })`,
      prototypeFetch: `for (let o = globalThis; o; o = Object.getPrototypeOf(o)) { const d = Object.getOwnPropertyDescriptor(o, 'fetch'); if (d && typeof d.value === 'function') return d.value.call(globalThis, '${url}/proto'); } throw new Error('no fetch function on the global or its prototypes');`,
      dynamicImport: `return import('${url}/module.js')`,
      functionCtor: `return (async () => {}).constructor('return fetch')()('${url}/ctor')`,
      stringTimer: `setTimeout("fetch('${url}/timer')", 0)`,
    };
    const jobs: SandboxJob[] = [
      { code: humanEvalProgram(gcd, '  while (b) [a, b] = [b, a % b];\n  return String(a);\n}'), timeLimitMs: LIMIT },
      { code: humanEvalProgram(gcd, '  return a;\n}'), timeLimitMs: LIMIT },
      ...Object.values(attempts).map((code) => ({ code, timeLimitMs: LIMIT })),
    ];
    const { outcomes, workersStarted, errors } = await runInBrowser(jobs);
    // Failed attempts change nothing in the realm: one worker ran every job.
    expect(workersStarted).toBe(1);
    expect(outcomes[0]).toMatchObject({ ok: true, timedOut: false });
    expect(outcomes[1].error).toMatch(/^AssertionError: Expected values to be loosely deep-equal:\n\n3\n\nshould loosely deep-equal\n\n1/);
    const failures = Object.fromEntries(Object.keys(attempts).map((name, i) => [name, outcomes[i + 2]]));
    for (const [name, outcome] of Object.entries(failures)) {
      expect(outcome.ok, `${name}: ${JSON.stringify(outcome)}`).toBe(false);
      if (name !== 'prototypeFetch') expect(outcome.error, name).toMatch(/is not available in the sandbox/);
    }
    // Walking the global's prototype chain finds no fetch left to call.
    expect(failures.prototypeFetch.error).toBe('Error: no fetch function on the global or its prototypes');
    expect(failures.fetch.error).toBe('TypeError: fetch is not available in the sandbox: it has no network, storage or host access');
    expect(failures.indexedDB.error).toBe('TypeError: indexedDB is not available in the sandbox: it has no network, storage or host access');
    await new Promise((r) => setTimeout(r, 300));
    expect(canary.requests).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('kills an endless loop at its limit and runs the next job; a job that changes the realm gets a fresh worker after it', async () => {
    const { outcomes, workersStarted } = await runInBrowser([
      { code: 'return 40 + input.n', timeLimitMs: LIMIT, input: { n: 2 } },
      { code: 'while (true) {}', timeLimitMs: LOOP_LIMIT },
      { code: '(async () => { for (;;) await null; })(); return 1;', timeLimitMs: LOOP_LIMIT },
      { code: 'return new Promise(() => {})', timeLimitMs: LIMIT },
      { code: "globalThis.leaked = 1; Array.prototype.map = () => 'patched'; return 'changed';", timeLimitMs: LIMIT },
      { code: "return [typeof leaked, [1, 2].map((x) => x * 2)]", timeLimitMs: LIMIT },
    ]);
    expect(outcomes[0]).toMatchObject({ ok: true, value: 42 });
    expect(outcomes[1]).toMatchObject({ ok: false, timedOut: true, error: `timed out after ${LOOP_LIMIT} ms` });
    expect(outcomes[1].ms).toBeGreaterThanOrEqual(LOOP_LIMIT);
    expect(outcomes[1].ms).toBeLessThan(LOOP_LIMIT + 500);
    expect(outcomes[2]).toMatchObject({ ok: false, timedOut: true });
    expect(outcomes[3]).toMatchObject({ ok: false, timedOut: false });
    expect(outcomes[3].error).toMatch(/never settles/);
    expect(outcomes[3].ms).toBeLessThan(1000);
    expect(outcomes[4]).toMatchObject({ ok: true, value: 'changed' });
    expect(outcomes[5]).toMatchObject({ ok: true, value: ['undefined', [2, 4]] });
    // The first worker, one after each of the two kills, one after the realm change.
    expect(workersStarted).toBe(4);
  });
});
