// The sandbox's require('node:assert') against Node's own: the same pairs of values, built by the same
// source text in each realm, must pass or fail deepEqual (the legacy loose check MultiPL-E's tests call) and
// deepStrictEqual exactly as node:assert decides.
import assert from 'node:assert';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { CodeSandbox } from '../../src/engine/eval/sandbox';
import { createNodeSandbox } from '../../src/node/sandbox/node-sandbox';

const CASES = [
  '[1, 1]', "[1, '1']", '[0, false]', "[0, '']", '[null, undefined]', '[NaN, NaN]', '[0, -0]', '[1, [1]]', "['1', [1]]",
  "[[1], ['1']]", '[[1, 2], [1, 2, 3]]', '[[1, [2, [3]]], [1, [2, [3]]]]', '[[1, [2, [3]]], [1, [2, [4]]]]',
  '[{ a: 1, b: 2 }, { b: 2, a: 1 }]', '[{ a: 1 }, { a: 1, b: undefined }]', '[{ a: undefined }, { b: undefined }]',
  "[{ a: '1' }, { a: 1 }]", '[[, 1], [undefined, 1]]', '[[, 1], [, 1]]', '[Object.assign([1], { x: 1 }), [1]]',
  '[Object.assign([1], { x: 1 }), Object.assign([1], { x: 1 })]', '[[1, 2, 3], { 0: 1, 1: 2, 2: 3, length: 3 }]',
  '[new Date(5), new Date(5)]', '[new Date(5), new Date(6)]', '[new Date(5), 5]', '[/a/g, /a/g]', '[/a/g, /a/i]', "[/a/, 'a']",
  '[new Set([1, 2]), new Set([2, 1])]', "[new Set([1]), new Set(['1'])]", '[new Set([{ a: 1 }]), new Set([{ a: 1 }])]',
  '[new Set([1]), new Set([2])]', "[new Map([[1, 'a']]), new Map([[1, 'a']])]", "[new Map([[1, 'a']]), new Map([['1', 'a']])]",
  "[new Map([[{ k: 1 }, 'a']]), new Map([[{ k: 1 }, 'a']])]", "[new Map([[1, 'a']]), new Map([[1, 'b']])]",
  "[new Error('x'), new Error('x')]", "[new Error('x'), new TypeError('x')]", "[new Error('x'), new Error('y')]",
  '[Object(1), Object(1)]', '[Object(1), Object(2)]', '[Object(1), 1]', "[Object('a'), Object('a')]",
  '[new Uint8Array([1, 2]), new Uint8Array([1, 2])]', '[new Uint8Array([1, 2]), new Int8Array([1, 2])]',
  '[new Float64Array([0]), new Float64Array([-0])]', '[new Float64Array([NaN]), new Float64Array([NaN])]',
  '[new ArrayBuffer(2), new ArrayBuffer(2)]', '[new ArrayBuffer(2), new ArrayBuffer(3)]', '[Object.create(null), {}]',
  '[new (class A {})(), {}]', "[{ [Symbol.for('s')]: 1 }, {}]", "['abc', 'abc']", '[1n, 1n]', '[1n, 1]', '[true, 1]',
  "[true, 'true']", '[[undefined], [null]]', '[{ a: null }, { a: undefined }]', '[function f() {}, function f() {}]',
  '[[1.5, [2, 3]], [1.5, [2, 3]]]', "[[0.1 + 0.2], [0.3]]", "[['a', 'b'], ['a', 'b']]", '[[], {}]', '[{}, []]',
  '[(() => { const a = {}; a.self = a; return a; })(), (() => { const b = {}; b.self = b; return b; })()]',
  '[(() => { const a = { x: 1 }; a.self = a; return a; })(), (() => { const b = { x: 2 }; b.self = b; return b; })()]',
];

/** For each case: [deepEqual passes, deepStrictEqual passes]. Runs unchanged in the sandbox and here. */
const VERDICTS = `
const assert = require('node:assert');
const cases = [${CASES.join(',\n')}];
return cases.map(([a, b]) => [assert.deepEqual, assert.deepStrictEqual].map((check) => {
  try { check(a, b); return true; } catch (e) { if (e.name !== 'AssertionError') throw e; return false; }
}));`;

let sandbox: CodeSandbox;
beforeAll(() => {
  sandbox = createNodeSandbox();
});
afterAll(() => sandbox.dispose());

test("deepEqual and deepStrictEqual decide as node:assert's on every case", async () => {
  const expected = new Function('require', VERDICTS)((name: string) => {
    expect(name).toBe('node:assert');
    return assert;
  }) as boolean[][];
  const outcome = await sandbox.run({ code: VERDICTS, timeLimitMs: 2000 });
  expect(outcome.error).toBeUndefined();
  const actual = outcome.value as boolean[][];
  const mismatches = CASES.filter((_, i) => actual[i][0] !== expected[i][0] || actual[i][1] !== expected[i][1]).map(
    (c) => `${c}: node ${JSON.stringify(expected[CASES.indexOf(c)])}, sandbox ${JSON.stringify(actual[CASES.indexOf(c)])}`,
  );
  expect(mismatches).toEqual([]);
  // The table holds every combination (false,true: Float64Array [NaN], loose compares elements with !==).
  expect(new Set(expected.map((v) => v.join()))).toEqual(new Set(['true,true', 'true,false', 'false,false', 'false,true']));
  expect(expected.filter((v) => v[0]).length).toBeGreaterThan(20);
  expect(expected.filter((v) => !v[0]).length).toBeGreaterThan(20);
});

test('assertion failures carry node\'s name, code and a message showing both values', async () => {
  const outcome = await sandbox.run({
    code: "const assert = require('assert'); try { assert.deepEqual({ a: [1, 2] }, { a: [1, 3] }); } catch (e) { return [e.name, e.code, e.message, e instanceof assert.AssertionError, e instanceof Error]; }",
    timeLimitMs: 1000,
  });
  expect(outcome.value).toEqual([
    'AssertionError',
    'ERR_ASSERTION',
    'Expected values to be loosely deep-equal:\n\n{"a": [1, 2]}\n\nshould loosely deep-equal\n\n{"a": [1, 3]}\n',
    true,
    true,
  ]);
  const custom = await sandbox.run({ code: "require('node:assert').equal(1, 2, 'my message')", timeLimitMs: 1000 });
  expect(custom.error).toBe('AssertionError: my message');
  const ok = await sandbox.run({ code: "const assert = require('node:assert'); assert(1); assert.ok(true); assert.equal(1, '1'); assert.strictEqual(NaN, NaN); assert.notDeepEqual([1], [2]); assert.ok(0);", timeLimitMs: 1000 });
  expect(ok.error).toMatch(/^AssertionError: The expression evaluated to a falsy value/);
});
