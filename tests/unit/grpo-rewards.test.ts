// GRPO's built-in rewards, the --reward syntax, reward-module parsing and reward sets without the sandbox.
import { describe, expect, test } from 'vitest';
import {
  answerMatchReward,
  createRewardSet,
  parseRewardModule,
  parseRewardSpecs,
  splitRewardItems,
  testRewards,
  type RewardInput,
  type RewardSpec,
} from '../../src/engine/train/grpo/rewards';
import { compileBuiltinReward } from '../../src/engine/train/grpo/rewards/builtin-rewards';

const input = (completion: string, example: Record<string, unknown> = {}): RewardInput => ({ prompt: 'p', completion, example, completionTokens: 1, truncated: false });
const builtin = (spec: string) => {
  const [parsed] = parseRewardSpecs(spec);
  const reward = compileBuiltinReward(parsed.kind as Exclude<RewardSpec['kind'], 'custom'>, parsed.arg);
  return (completion: string, example: Record<string, unknown> = {}) => reward(input(completion, example));
};

const GSM8K_ANSWER = 'Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72';

describe('answer-match', () => {
  test('GSM8K "#### N" first, else the last number; the reference is taken from the GSM8K answer string', () => {
    const example = { answer: GSM8K_ANSWER };
    expect(answerMatchReward('48 + 24 = 72\n#### 72', example)).toBe(1);
    expect(answerMatchReward('#### 71', example)).toBe(0);
    // "#### N" wins over a later number.
    expect(answerMatchReward('#### 72\nQuestion: what is 5?', example)).toBe(1);
    expect(answerMatchReward('She sold 24 in May, so 72 in all.', example)).toBe(1);
    expect(answerMatchReward('72 clips, not 7', example)).toBe(0);
    expect(answerMatchReward('no number here', example)).toBe(0);
  });

  test('numbers compare with commas and $ removed and a trailing period dropped', () => {
    expect(answerMatchReward('The total is #### 1,234', { answer: 'x #### 1234' })).toBe(1);
    expect(answerMatchReward('It costs $18.', { answer: '#### 18' })).toBe(1);
    expect(answerMatchReward('#### 72.0', { answer: 72 })).toBe(1);
    expect(answerMatchReward('#### -3', { answer: '#### 3' })).toBe(0);
    expect(answerMatchReward('That is 0.5', { answer: '.5' })).toBe(1);
  });

  test('with a regex: its last match (first group), compared as normalised text', () => {
    const reward = builtin('answer-match=Answer:\\s*(.+)');
    expect(reward('Answer: Rome\nAnswer:  New   YORK.', { answer: 'new york' })).toBe(1);
    expect(reward('Answer: Rome', { answer: 'new york' })).toBe(0);
    expect(reward('no answer line', { answer: 'new york' })).toBe(0);
    // No group: the whole match.
    expect(builtin('answer-match=/\\bcat\\w*/i')('The CATS sat', { answer: 'cats' })).toBe(1);
  });

  test('a missing reference answer fails the call with a message', () => {
    expect(() => answerMatchReward('#### 1', { question: 'q' })).toThrow(/answer-match reads example.answer .* found none/);
  });
});

describe('format, regex, contains, length, json', () => {
  test('format: GSM8K-style by default, else the given pattern', () => {
    const format = builtin('format');
    expect([format('so #### 42'), format('####-1,000.5'), format('The answer is 42'), format('#### x')]).toEqual([1, 1, 0, 0]);
    expect(builtin('format=^<answer>.*</answer>$')('<answer>4</answer>')).toBe(1);
    expect(builtin('format=^<answer>.*</answer>$')('x <answer>4</answer>')).toBe(0);
  });

  test('regex, with /flags/ form', () => {
    expect([builtin('regex=^Once')('Once upon a time'), builtin('regex=^Once')('once upon a time'), builtin('regex=/^once/i')('ONCE upon')]).toEqual([1, 0, 1]);
  });

  test('contains / not-contains fill {field} from the example; a missing field is a call error', () => {
    const contains = builtin('contains={name}');
    const notContains = builtin('not-contains={name} died');
    const lily = { name: 'Lily' };
    expect([contains('Lily went out.', lily), contains('Tom went out.', lily)]).toEqual([1, 0]);
    expect([notContains('Lily died.', lily), notContains('Lily lived.', lily)]).toEqual([0, 1]);
    expect(builtin('contains=a\\, b')('x a, b y')).toBe(1);
    expect(() => contains('Lily', {})).toThrow(/no field "name" to fill \{name\} \(found none\)/);
  });

  test('length: 1 - |words - N| / N clipped to [0, 1]', () => {
    const length = builtin('length=10');
    const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' \n ');
    expect([length(words(10)), length(words(5)), length(words(15)), length(words(25)), length('')]).toEqual([1, 0.5, 0.5, 0, 0]);
    expect(builtin('length=4')(words(3))).toBeCloseTo(0.75, 12);
  });

  test('json: the trimmed completion parses', () => {
    const json = builtin('json');
    expect([json('{"a": 1}'), json(' [1, 2]\n'), json('{a: 1}'), json(''), json('"s"')]).toEqual([1, 1, 0, 0, 1]);
  });
});

describe('parseRewardSpecs', () => {
  test('the CLI syntax: kinds, arguments, weights, module export names', () => {
    expect(parseRewardSpecs('answer-match,format:0.5,contains={name}:2,regex=^Once,length=60,json,my_reward:-1.5')).toEqual([
      { kind: 'answer-match', weight: 1, name: 'answer-match' },
      { kind: 'format', weight: 0.5, name: 'format' },
      { kind: 'contains', weight: 2, arg: '{name}', name: 'contains' },
      { kind: 'regex', weight: 1, arg: '^Once', name: 'regex' },
      { kind: 'length', weight: 1, arg: '60', name: 'length' },
      { kind: 'json', weight: 1, name: 'json' },
      { kind: 'custom', weight: -1.5, name: 'my_reward' },
    ]);
  });

  test('commas inside brackets or escaped do not split; repeated kinds get numbered names; a weight keeps an argument\'s ":2"', () => {
    expect(splitRewardItems('regex=\\d{1,3},format=[\\d,.]+,contains=a\\, b')).toEqual(['regex=\\d{1,3}', 'format=[\\d,.]+', 'contains=a\\, b']);
    // An unclosed bracket is refused rather than swallowing the items after it.
    expect(() => splitRewardItems('contains=(,json')).toThrow(/--reward "contains=\(,json": an opening bracket is never closed/);
    expect(() => splitRewardItems('regex=\\d{1,3},contains=(x')).not.toThrow();
    const specs = parseRewardSpecs('regex=a,regex=b:3,regex=c:2:1');
    expect(specs.map((s) => [s.name, s.arg, s.weight])).toEqual([
      ['regex', 'a', 1],
      ['regex_2', 'b', 3],
      ['regex_3', 'c:2', 1],
    ]);
  });

  test.each([
    ['', /--reward is empty/],
    ['answer-match,format:abc', /item 2 "format:abc": the weight after ":" must be a number/],
    ['json,,format', /item 2 "": empty item/],
    ['regex=[', /item 1 "regex=\[": regex pattern: regex \/\[\/ is not valid/],
    ['regex', /item 1 "regex": regex needs a pattern/],
    ['length=0', /length's target must be a positive number of words, got "0"/],
    ['length=many', /got "many"/],
    ['json=1', /json takes no argument/],
    ['answer-mach', /item 1 "answer-mach": unknown reward "answer-mach"; the built-in rewards are answer-match, format/],
    ['custom=(c) => 1', /custom rewards come from a reward module/],
    ['mine,mine:2', /item 2 "mine:2": "mine" is listed twice/],
  ])('%j is refused', (text, message) => {
    expect(() => parseRewardSpecs(text)).toThrow(message);
  });
});

describe('parseRewardModule', () => {
  test('export forms, names and locals; comments blanked; lines kept', () => {
    const source = [
      '// rewards for the story task: no import needed',
      'const TARGET = 40; /* words',
      ' import nothing */',
      'export function mentionsName(completion, example) { return completion.includes(example.name) ? 1 : 0; }',
      'export const short = (c) => (c.split(" ").length < TARGET ? 1 : 0), endsWell = (c) => /The end\\.$/.test(c) ? 1 : 0;',
      'function helper(c) { const o = { export: 1 }; return `${c.length} ${"}"} ${o.export}`.length; }',
      'const rx = /export \\{ x \\}/;',
      'export { helper as lengthish, rx };',
      'export let last = (c) => 0',
    ].join('\n');
    const parsed = parseRewardModule(source, 'rewards.js');
    expect(parsed.exports.map((e) => [e.name, e.local, e.line])).toEqual([
      ['mentionsName', 'mentionsName', 4],
      ['short', 'short', 5],
      ['endsWell', 'endsWell', 5],
      ['lengthish', 'helper', 8],
      ['rx', 'rx', 8],
      ['last', 'last', 9],
    ]);
    expect(parsed.script.split('\n')).toHaveLength(9);
    expect(parsed.script).not.toMatch(/\bimport\b/);
    expect(parsed.script).not.toMatch(/^export|\bexport (function|const|let|\{)/m);
    expect(parsed.script.split('\n')[3]).toBe('       function mentionsName(completion, example) { return completion.includes(example.name) ? 1 : 0; }');
    // The script runs as plain JavaScript (strict, as a module is) and binds the exports.
    const run = new Function(`'use strict';\n${parsed.script}\nreturn { mentionsName, short, endsWell, helper, last };`)() as Record<string, (c: string, e?: unknown) => number>;
    expect([run.mentionsName('Lily ran', { name: 'Lily' }), run.short('a b'), run.endsWell('x. The end.'), run.helper('ab'), run.last('')]).toEqual([1, 1, 1, 5, 0]);
  });

  test.each([
    ['const a = 1;\n\nimport fs from "node:fs";\nexport const f = () => 1;', /^m\.js:3: import statements are not allowed/],
    ['export const f = async () => {\n  const m = await import("https://x/y.js");\n  return 1; };', /^m\.js:2: import\(\) is not allowed/],
    ['export function f() { return import.meta.url ? 1 : 0; }', /^m\.js:1: import\.meta is not allowed/],
    ['export const f = () => "please import this".length;', /^m\.js:1: the word "import" appears in a string/],
    ['export default function (c) { return 1; }', /^m\.js:1: export default is not supported/],
    ['export async function f() { return 1; }', /^m\.js:1: an async function cannot be a reward/],
    ['export function* f() { yield 1; }', /^m\.js:1: a generator function cannot be a reward/],
    ['export class R {}', /^m\.js:1: a class cannot be a reward/],
    ['export * from "./other.js";', /^m\.js:1: re-exports \(export \* from\)/],
    ['const f = 1;\nexport { f } from "./other.js";', /^m\.js:2: re-exports/],
    ['export const { f } = {};', /^m\.js:1: export const\/let\/var must declare a plain name/],
    ['export function f() {}\nexport { f };', /^m\.js:2: "f" is exported twice/],
    ['const x = "unterminated;\nexport const f = 1;', /^m\.js:1: unterminated string/],
    ['function f() { return 1; }', /^m\.js: exports no reward function/],
  ])('%j is refused with the file and line', (source, message) => {
    expect(() => parseRewardModule(source, 'm.js')).toThrow(message);
  });
});

describe('reward sets of built-ins', () => {
  test('per-function values, the weighted total and per-call errors', async () => {
    const set = await createRewardSet(parseRewardSpecs('answer-match,format:0.5,contains={name}:2'));
    expect(set.names).toEqual(['answer-match', 'format', 'contains']);
    expect(set.weights).toEqual([1, 0.5, 2]);
    const scores = await set.score([
      input('Lily counts. #### 72', { answer: GSM8K_ANSWER, name: 'Lily' }),
      input('Tom says 71', { answer: GSM8K_ANSWER, name: 'Lily' }),
      input('#### 72', { answer: '#### 72' }),
    ]);
    expect([...scores.perFunction['answer-match']]).toEqual([1, 0, 1]);
    expect([...scores.perFunction.format]).toEqual([1, 0, 1]);
    expect([...scores.perFunction.contains]).toEqual([1, 0, 0]);
    expect([...scores.total]).toEqual([3.5, 0, 1.5]);
    expect(scores.errors).toEqual([{ name: 'contains', index: 2, message: 'the example has no field "name" to fill {name} (found none)' }]);
    const tested = await testRewards(set, [input('#### 1', { answer: '1' })]);
    expect(tested.rows).toEqual([{ values: [1, 1, 0], total: 1.5, errors: [undefined, undefined, 'the example has no field "name" to fill {name} (found none)'] }]);
    expect(tested.errorCount).toBe(1);
    set.dispose();
    await expect(set.score([input('x')])).rejects.toThrow(/disposed/);
  });

  test('bad sets are refused: unknown module export, custom code without a sandbox, duplicate names, bad weight', async () => {
    await expect(createRewardSet(parseRewardSpecs('json,mine'))).rejects.toThrow(/"mine" is not a built-in reward \(answer-match, .*\) nor an export of a reward module \(none given: --reward-module FILE\)/);
    await expect(createRewardSet([{ kind: 'custom', name: 'c', weight: 1, arg: '(c) => 1' }])).rejects.toThrow(/custom rewards \(c\) run in the code sandbox, and none was given/);
    await expect(createRewardSet([{ kind: 'json', name: 'j', weight: 1 }, { kind: 'format', name: 'j', weight: 1 }])).rejects.toThrow(/reward 2: the name "j" is used twice/);
    await expect(createRewardSet([{ kind: 'json', name: 'j', weight: Number.NaN }])).rejects.toThrow(/reward 1 "j": the weight must be a finite number/);
    await expect(createRewardSet([{ kind: 'regex', name: 'r', weight: 1 }])).rejects.toThrow(/reward "r": regex needs a pattern/);
    await expect(createRewardSet([])).rejects.toThrow(/no reward functions/);
    await expect(createRewardSet(parseRewardSpecs('format'), { customModules: [{ name: 'r.js', source: 'export const format = () => 1;' }] })).rejects.toThrow(
      /r\.js exports "format", which is also the built-in reward "format": rename the export/,
    );
  });
});
