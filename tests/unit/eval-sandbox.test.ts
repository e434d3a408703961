import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CustomMetricError, runCustomMetric } from '../../src/engine/eval/custom-metric';
import { SandboxDisposedError, type CodeSandbox } from '../../src/engine/eval/sandbox';
import { createNodeSandbox } from '../../src/node/sandbox/node-sandbox';
import { startCanaryServer, type CanaryServer } from '../helpers/canary-server';

// Jobs that should finish get a generous limit (other tests may load the machine); loops get a short one.
const LIMIT = 5000;
/** One limit per call for every item of a metric run, the looping item's included; loops in pool tests. */
const METRIC_LIMIT = 1000;

let sandbox: CodeSandbox;
let canary: CanaryServer;
beforeAll(async () => {
  sandbox = createNodeSandbox();
  canary = await startCanaryServer();
});
afterAll(async () => {
  sandbox.dispose();
  await canary.close();
});

describe('custom JavaScript metric in the sandbox', () => {
  test('fetch, storage, an endless loop, a throw and non-numbers become per-item errors; the others are scored', async () => {
    // One metric whose behaviour depends on the item: every failure mode in one evaluation.
    const source = `(output, item) => {
      if (item.mode === 'fetch') return fetch('${canary.url}/metric?leak=' + output);
      if (item.mode === 'storage') return globalThis.indexedDB ? 1 : 0;
      if (item.mode === 'loop') while (true) {}
      if (item.mode === 'throw') throw new Error('no reference for item ' + item.id);
      if (item.mode === 'string') return 'high';
      if (item.mode === 'nan') return 0 / 0;
      if (item.mode === 'log') console.log('scoring', item.id, { len: output.length });
      return output === item.reference ? 1 : output.length / 10;
    };`;
    const inputs = [
      { output: 'Paris', item: { id: 1, reference: 'Paris' } },
      { output: 'secret', item: { id: 2, mode: 'fetch' } },
      { output: 'x', item: { id: 3, mode: 'storage' } },
      { output: 'abc', item: { id: 4, reference: 'abd' } },
      { output: 'x', item: { id: 5, mode: 'loop' } },
      { output: 'x', item: { id: 6, mode: 'throw' } },
      { output: 'x', item: { id: 7, mode: 'string' } },
      { output: 'x', item: { id: 8, mode: 'nan' } },
      { output: 'seven42', item: { id: 9, mode: 'log', reference: 'no' } },
    ];
    const done: number[] = [];
    const started = performance.now();
    const result = await runCustomMetric(sandbox, source, inputs, { timeLimitMs: METRIC_LIMIT, onItemDone: (n) => done.push(n) });
    const elapsed = performance.now() - started;

    expect(result.cancelled).toBe(false);
    expect(result.scores).toEqual([1, undefined, undefined, 0.3, undefined, undefined, undefined, undefined, 0.7]);
    expect(result.errors).toEqual([
      undefined,
      'TypeError: fetch is not available in the sandbox: it has no network, storage or host access',
      'TypeError: indexedDB is not available in the sandbox: it has no network, storage or host access',
      undefined,
      `timed out after ${METRIC_LIMIT} ms`,
      'Error: no reference for item 6',
      'TypeError: the metric returned a string ("high"), not a number',
      'RangeError: the metric returned NaN, not a finite number',
      undefined,
    ]);
    expect(result.logs[8]).toEqual(['scoring 9 {"len": 7}']);
    expect(done).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // One time limit for the loop, a few ms for each other call.
    expect(elapsed).toBeLessThan(METRIC_LIMIT + 2000);
    await new Promise((r) => setTimeout(r, 100));
    expect(canary.requests).toEqual([]);
  });

  test('source that is not a function is refused before any item, with the reason', async () => {
    const inputs = [{ output: 'a', item: {} }];
    await expect(runCustomMetric(sandbox, '(output, item) => {', inputs, { timeLimitMs: LIMIT })).rejects.toThrow(
      /^the custom metric does not compile: SyntaxError/,
    );
    await expect(runCustomMetric(sandbox, '42', inputs, { timeLimitMs: LIMIT })).rejects.toThrow(CustomMetricError);
    await expect(runCustomMetric(sandbox, '42', inputs, { timeLimitMs: LIMIT })).rejects.toThrow(/must be a function .* gives a number/);
    await expect(runCustomMetric(sandbox, '  ', inputs, { timeLimitMs: LIMIT })).rejects.toThrow(/empty/);
  });

  test('a function declaration with a trailing semicolon and comment works; a cancelled run keeps what it finished', async () => {
    const source = 'function score(output, item) { return output.length * item.weight; }; // weighted length';
    const controller = new AbortController();
    const result = await runCustomMetric(
      sandbox,
      source,
      [1, 2, 3, 4].map((w) => ({ output: 'ab', item: { weight: w } })),
      { timeLimitMs: LIMIT, signal: controller.signal, onItemDone: (n) => n === 2 && controller.abort() },
    );
    expect(result).toMatchObject({ scores: [2, 4], errors: [undefined, undefined], cancelled: true });
  });
});

describe('the sandbox pool', () => {
  test('jobs get their input and return JSON values; a job cannot see the previous job\'s globals', async () => {
    expect(await sandbox.run({ code: 'globalThis.leak = input.n; return { twice: input.n * 2, list: [1, "a", null] };', timeLimitMs: LIMIT, input: { n: 21 } })).toMatchObject({
      ok: true,
      value: { twice: 42, list: [1, 'a', null] },
    });
    expect((await sandbox.run({ code: 'return typeof leak;', timeLimitMs: LIMIT })).value).toBe('undefined');
    // Only JavaScript's built-ins are there: no timers, no Node or web globals.
    const names = await sandbox.run({
      code: "return ['setTimeout', 'process', 'Buffer', 'navigator', 'WebAssembly', 'console'].map((n) => { try { return n + ':' + typeof globalThis[n]; } catch (e) { return n + ':blocked'; } });",
      timeLimitMs: LIMIT,
    });
    expect(names.value).toEqual(['setTimeout:blocked', 'process:blocked', 'Buffer:blocked', 'navigator:blocked', 'WebAssembly:blocked', 'console:blocked']);
  });

  test('a promise that can never settle fails at once; an async value arrives', async () => {
    const never = await sandbox.run({ code: 'return new Promise(() => {});', timeLimitMs: 5000 });
    expect(never.ok).toBe(false);
    expect(never.error).toMatch(/never settles/);
    expect(never.ms).toBeLessThan(1000);
    expect(await sandbox.run({ code: 'return (async () => { await null; return 7; })();', timeLimitMs: LIMIT })).toMatchObject({ ok: true, value: 7 });
  });

  test('two workers run two endless loops side by side, each killed at its own limit', async () => {
    const pool = createNodeSandbox({ size: 2, killGraceMs: 50 });
    try {
      await Promise.all([pool.run({ code: 'return 1', timeLimitMs: LIMIT }), pool.run({ code: 'return 2', timeLimitMs: LIMIT })]); // both started
      const started = performance.now();
      const outcomes = await Promise.all([0, 1].map(() => pool.run({ code: 'for (;;) {}', timeLimitMs: METRIC_LIMIT })));
      const elapsed = performance.now() - started;
      expect(outcomes.map((o) => o.timedOut)).toEqual([true, true]);
      // One after the other would take at least 2 limits.
      expect(elapsed).toBeLessThan(1.8 * METRIC_LIMIT);
      expect((await pool.run({ code: 'return 3', timeLimitMs: LIMIT })).value).toBe(3);
    } finally {
      pool.dispose();
    }
  });

  test('dispose rejects running and queued jobs, and later runs', async () => {
    const pool = createNodeSandbox();
    const running = pool.run({ code: 'for (;;) {}', timeLimitMs: 5000 });
    const queued = pool.run({ code: 'return 1', timeLimitMs: 5000 });
    await new Promise((r) => setTimeout(r, 200));
    pool.dispose();
    await expect(running).rejects.toThrow(SandboxDisposedError);
    await expect(queued).rejects.toThrow(SandboxDisposedError);
    await expect(pool.run({ code: 'return 1', timeLimitMs: 100 })).rejects.toThrow(SandboxDisposedError);
  });

  test('a worker that dies of memory fails its job and is replaced', async () => {
    const pool = createNodeSandbox({ maxMemoryMb: 32 });
    try {
      const bomb = await pool.run({ code: 'const a = []; for (;;) a.push(new Array(1e5).fill(a.length));', timeLimitMs: 20_000 });
      expect(bomb.ok).toBe(false);
      expect(bomb.timedOut).toBe(false);
      expect(bomb.error).toMatch(/^the sandbox worker stopped: /);
      expect((await pool.run({ code: 'return 5', timeLimitMs: LIMIT })).value).toBe(5);
    } finally {
      pool.dispose();
    }
  });

  test('an idle sandbox holds nothing that keeps the process alive (the CLI exits without dispose)', async () => {
    const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    await new Promise((r) => setTimeout(r, 200)); // workers terminated by earlier tests finish going
    const before = ports();
    const pool = createNodeSandbox();
    try {
      expect(await pool.run({ code: 'return 1', timeLimitMs: LIMIT })).toMatchObject({ ok: true, value: 1 });
      expect(ports()).toBe(before);
    } finally {
      pool.dispose();
    }
  });

  test('bad jobs are refused clearly', async () => {
    await expect(sandbox.run({ code: 'return 1', timeLimitMs: 0 })).rejects.toThrow(/timeLimitMs must be a positive number of ms, got 0/);
    await expect(sandbox.run({ code: 'return 1', timeLimitMs: 100, input: { big: 1n } })).rejects.toThrow(/input is not JSON-serialisable/);
  });
});
