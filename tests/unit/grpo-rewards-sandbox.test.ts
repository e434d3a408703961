// Custom GRPO rewards in the Node sandbox: failures are per completion (0 and a visible error), the network
// is unreachable, chunks of completions share one job, and reward modules load from a file.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readRewardModule } from '../../src/cli/reward-module';
import type { CodeSandbox, SandboxJob } from '../../src/engine/eval/sandbox';
import { createRewardSet, parseRewardSpecs, testRewards, type RewardInput } from '../../src/engine/train/grpo/rewards';
import { createNodeSandbox } from '../../src/node/sandbox/node-sandbox';
import { startCanaryServer, type CanaryServer } from '../helpers/canary-server';

/** Per call; loops run to it. Generous for the calls that finish (other tests may load the machine). */
const LIMIT = 1000;

let sandbox: CodeSandbox;
let canary: CanaryServer;
let tempDir: string;
beforeAll(async () => {
  sandbox = createNodeSandbox();
  canary = await startCanaryServer();
  tempDir = await mkdtemp(join(tmpdir(), 'tunelab-rewards-'));
});
afterAll(async () => {
  sandbox.dispose();
  await canary.close();
  await rm(tempDir, { recursive: true, force: true });
});

const input = (completion: string, example: Record<string, unknown> = {}): RewardInput => ({ prompt: 'p', completion, example, completionTokens: 1, truncated: false });

/** The sandbox, counting the jobs it runs. */
function counting(inner: CodeSandbox): CodeSandbox & { jobs: SandboxJob[] } {
  const jobs: SandboxJob[] = [];
  return { jobs, run: (job) => (jobs.push(job), inner.run(job)), dispose: () => inner.dispose() };
}

const BLOCKED = (api: string) => `TypeError: ${api} is not available in the sandbox: it has no network, storage or host access`;

describe('custom rewards: every failure is one completion\'s 0 and error, and the run goes on', () => {
  test('fetch, XMLHttpRequest, an endless loop, a throw and non-numbers; import() in another reward; a built-in alongside', async () => {
    const modes = `(completion, example) => {
      if (example.mode === 'fetch') return fetch('${canary.url}/reward?leak=' + completion);
      if (example.mode === 'xhr') { const x = new XMLHttpRequest(); x.open('GET', '${canary.url}/xhr'); x.send(); return 1; }
      if (example.mode === 'loop') while (true) {}
      if (example.mode === 'throw') throw new RangeError('bad completion ' + completion);
      if (example.mode === 'string') return 'high';
      if (example.mode === 'nan') return 0 / 0;
      if (example.mode === 'async') return Promise.resolve(1);
      return completion.length / 10;
    }`;
    const importer = `(completion) => import('${canary.url}/module.js').then(() => 1)`;
    const set = await createRewardSet(
      [
        { kind: 'custom', name: 'modes', weight: 1, arg: modes },
        { kind: 'custom', name: 'importer', weight: 1, arg: importer },
        { kind: 'contains', name: 'has-a', weight: 0.5, arg: 'a' },
      ],
      { sandbox, timeLimitMs: LIMIT },
    );
    const examples = [{}, { mode: 'fetch' }, { mode: 'xhr' }, { mode: 'loop' }, { mode: 'throw' }, { mode: 'string' }, { mode: 'nan' }, { mode: 'async' }, {}];
    const completions = ['abc', 'secret', 'x', 'x', 'oops', 'x', 'x', 'x', 'abcdefg'];
    const started = performance.now();
    const scores = await set.score(completions.map((c, i) => input(c, examples[i])));
    const elapsed = performance.now() - started;

    expect([...scores.perFunction.modes]).toEqual([0.3, 0, 0, 0, 0, 0, 0, 0, 0.7]);
    expect([...scores.perFunction.importer]).toEqual(new Array(9).fill(0));
    expect([...scores.perFunction['has-a']]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect([...scores.total]).toEqual([0.8, 0, 0, 0, 0, 0, 0, 0, 1.2]);
    const modeErrors = scores.errors.filter((e) => e.name === 'modes').map((e) => [e.index, e.message]);
    expect(modeErrors).toEqual([
      [1, BLOCKED('fetch')],
      [2, BLOCKED('XMLHttpRequest')],
      [3, `timed out after ${LIMIT} ms`],
      [4, 'RangeError: bad completion oops'],
      [5, 'TypeError: the reward returned a string ("high"), not a number'],
      [6, 'RangeError: the reward returned NaN, not a finite number'],
      [7, 'TypeError: the reward returned a Promise: it must return a number synchronously'],
    ]);
    const importErrors = scores.errors.filter((e) => e.name === 'importer');
    expect(importErrors.map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(importErrors[0].message).toMatch(/^SandboxError: import is not available in the sandbox/);
    expect(scores.errors).toHaveLength(7 + 9);
    // The chunk runs to one limit, then the looping call alone runs to another; the rest take a few ms each.
    expect(elapsed).toBeLessThan(2 * LIMIT + 2500);
    await new Promise((r) => setTimeout(r, 100));
    expect(canary.requests).toEqual([]);
  });

  test('the network is unreachable from inside: every route fails and the server sees nothing, while the host reaches it', async () => {
    const routes = [
      `() => fetch('${canary.url}/fetch')`,
      `() => { const x = new XMLHttpRequest(); x.open('GET', '${canary.url}/xhr', false); x.send(); return x.status; }`,
      `() => { new WebSocket('${canary.url.replace('http', 'ws')}/ws'); return 1; }`,
      `() => navigator.sendBeacon('${canary.url}/beacon') ? 1 : 0`,
      `() => { new EventSource('${canary.url}/events'); return 1; }`,
      `() => { const p = globalThis.constructor.constructor('return process')(); return p.mainModule ? 1 : 2; }`,
      `() => { const f = (() => {}).constructor('return fetch')(); f('${canary.url}/constructed'); return 1; }`,
      `() => { eval("fetch('${canary.url}/eval')"); return 1; }`,
      `() => { require('node:http').get('${canary.url}/require'); return 1; }`,
    ];
    const set = await createRewardSet(
      routes.map((arg, i) => ({ kind: 'custom' as const, name: `route${i}`, weight: 1, arg })),
      { sandbox, timeLimitMs: LIMIT },
    );
    const scores = await set.score([input('x')]);
    expect([...scores.total]).toEqual([0]);
    expect(scores.errors.map((e) => e.name)).toEqual(routes.map((_, i) => `route${i}`));
    expect(scores.errors.map((e) => e.message)).toEqual([
      ...['fetch', 'XMLHttpRequest', 'WebSocket', 'navigator', 'EventSource', 'constructor', 'Function constructor', 'eval'].map(BLOCKED),
      "Error: Cannot find module 'node:http': the sandbox provides only 'node:assert'",
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(canary.requests).toEqual([]);
    // The server does record a request that reaches it, so the empty list above means something.
    await (await fetch(`${canary.url}/from-host`)).text();
    expect(canary.requests).toEqual(['GET /from-host']);
    canary.requests.length = 0;
  });
});

describe('batching and limits', () => {
  test('64 completions are one job; a looping call costs its chunk one limit and only itself a value', async () => {
    const pool = counting(sandbox);
    const set = await createRewardSet([{ kind: 'custom', name: 'len', weight: 2, arg: '(c, e) => { if (e.loop) for (;;) {} return c.length; }' }], { sandbox: pool, timeLimitMs: LIMIT });
    expect(pool.jobs).toHaveLength(1); // the compile check
    const inputs = Array.from({ length: 64 }, (_, i) => input('x'.repeat(i), {}));
    const clean = await set.score(inputs);
    expect(pool.jobs).toHaveLength(2);
    expect([...clean.perFunction.len]).toEqual(inputs.map((_, i) => i));
    expect([...clean.total]).toEqual(inputs.map((_, i) => 2 * i));
    expect(clean.errors).toEqual([]);

    inputs[10] = input('loop', { loop: true });
    const looped = await set.score(inputs);
    // The chunk timed out, then each completion ran alone with its own limit.
    expect(pool.jobs).toHaveLength(2 + 1 + 64);
    expect(pool.jobs.slice(3).every((j) => (j.input as { calls: unknown[] }).calls.length === 1)).toBe(true);
    expect(looped.errors).toEqual([{ name: 'len', index: 10, message: `timed out after ${LIMIT} ms` }]);
    expect(looped.perFunction.len[10]).toBe(0);
    expect(looped.perFunction.len[63]).toBe(63);
  });

  test('a slow but finite reward: chunks shrink to what fits half a limit, and then every call scores', async () => {
    const pool = counting(sandbox);
    const limit = 600;
    // About 30 ms a call: 40 calls do not fit one limit together.
    const slow = '(c) => { const end = Date.now() + 30; while (Date.now() < end) {} return 1; }';
    const set = await createRewardSet([{ kind: 'custom', name: 'slow', weight: 1, arg: slow }], { sandbox: pool, timeLimitMs: limit });
    const inputs = Array.from({ length: 40 }, () => input('x'));
    const first = await set.score(inputs);
    expect(first.errors).toEqual([]);
    expect(pool.jobs).toHaveLength(1 + 1 + 40);
    const before = pool.jobs.length;
    const second = await set.score(inputs);
    expect(second.errors).toEqual([]);
    expect([...second.total]).toEqual(new Array(40).fill(1));
    const chunks = pool.jobs.slice(before).map((j) => (j.input as { calls: unknown[] }).calls.length);
    // At most floor(0.5 * 600 / 30) = 10 a chunk (fewer when the machine is slow), and no chunk failed.
    expect(Math.max(...chunks)).toBeLessThanOrEqual(10);
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(40);
  });

  test('code that does not compile or is not a function is refused before scoring; a module that loops while loading too', async () => {
    await expect(createRewardSet([{ kind: 'custom', name: 'broken', weight: 1, arg: '(c) => {' }], { sandbox, timeLimitMs: LIMIT })).rejects.toThrow(
      /^reward "broken" does not compile: SyntaxError/,
    );
    await expect(createRewardSet([{ kind: 'custom', name: 'num', weight: 1, arg: '42' }], { sandbox, timeLimitMs: LIMIT })).rejects.toThrow(
      /reward "num" does not compile: TypeError: the reward must be a function \(completion, example\) => number, but the source gives a number/,
    );
    await expect(createRewardSet([], { sandbox, timeLimitMs: 300, customModules: [{ name: 'spin.js', source: 'for (;;) {}\nexport const f = () => 1;' }] })).rejects.toThrow(
      /reward "f": defining it took longer than the 300 ms limit/,
    );
  });

  test('an aborted signal stops scoring with its reason', async () => {
    const set = await createRewardSet([{ kind: 'custom', name: 'one', weight: 1, arg: '() => 1' }], { sandbox, timeLimitMs: LIMIT });
    const controller = new AbortController();
    controller.abort(new Error('run stopped'));
    await expect(set.score([input('x')], controller.signal)).rejects.toThrow('run stopped');
  });
});

describe('reward modules (--reward-module FILE)', () => {
  test('a file with two exports: each becomes a reward named after it, weighted by --reward', async () => {
    const file = join(tempDir, 'story-rewards.mjs');
    await writeFile(
      file,
      [
        '// Rewards for the story task.',
        'const words = (text) => text.split(/\\s+/).filter(Boolean);',
        'export function namesHero(completion, example) {',
        '  const first = completion.split(".")[0];',
        '  return first.includes(example.name) ? 1 : 0;',
        '}',
        'export const brevity = (completion) => Math.max(0, 1 - words(completion).length / 20);',
      ].join('\n'),
    );
    const module = await readRewardModule(file);
    expect(module.exports).toEqual(['namesHero', 'brevity']);
    expect(module.name).toBe(file);
    const set = await createRewardSet(parseRewardSpecs('json,brevity:3'), { sandbox, timeLimitMs: LIMIT, customModules: [module] });
    expect(set.names).toEqual(['json', 'brevity', 'namesHero']);
    expect(set.weights).toEqual([1, 3, 1]);
    const tested = await testRewards(set, [input('Lily ran. Then she sat.', { name: 'Lily' }), input('Tom ran far away. Lily stayed.', { name: 'Lily' })]);
    expect(tested.rows.map((r) => r.values)).toEqual([
      [0, 1 - 5 / 20, 1],
      [0, 1 - 6 / 20, 0],
    ]);
    expect(tested.rows.map((r) => r.total)).toEqual([3 * 0.75 + 1, 3 * 0.7]);
    expect(tested.errorCount).toBe(0);
  });

  test('an import statement is an error naming the file and line; a missing file names the path', async () => {
    const file = join(tempDir, 'imports.mjs');
    await writeFile(file, 'export const a = () => 1;\n\nimport { readFileSync } from "node:fs";\n');
    await expect(readRewardModule(file)).rejects.toThrow(`${file}:3: import statements are not allowed`);
    await expect(readRewardModule(join(tempDir, 'none.mjs'))).rejects.toThrow(/--reward-module .*none\.mjs: no such file/);
  });
});
