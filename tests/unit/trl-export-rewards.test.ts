// The GRPO rewards of a TRL export (rewards.py and rewards/*.cjs) score exactly as Tunelab's TypeScript
// rewards do: the built-ins in Python with JavaScript's string rules, user regexes translated from JavaScript
// (js-regex-to-python.ts), custom JavaScript run by node, a --reward-module's exports read from a run.json.
// Run with python3 on ~20 completions and compared with createRewardSet's values; without python3 the
// comparisons are skipped with a printed reason, never silently.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { trlSpecFromRunDir } from '../../src/cli/export-trl';
import type { PromptRecord } from '../../src/engine/data/prompt-examples';
import type { CodeSandbox } from '../../src/engine/eval/sandbox';
import { truncateAtStop } from '../../src/engine/eval/suites/gsm8k';
import { jsRegexToPython } from '../../src/engine/export/trl/js-regex-to-python';
import type { TrlProjectSpec } from '../../src/engine/export/trl/trl-project';
import { createRewardSet, parseRewardSpecs } from '../../src/engine/train/grpo/rewards';
import { createNodeSandbox } from '../../src/node/sandbox/node-sandbox';
import { compiles, exportProject, jsonlRows, python, pythonScores } from '../helpers/trl-project-files';
import { COMPLETIONS, grpoSpec, REWARDS, STOPS } from '../helpers/trl-specs';

let root: string;
let sandbox: CodeSandbox;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tunelab-trl-rewards-'));
  sandbox = createNodeSandbox();
});
afterAll(async () => {
  sandbox.dispose();
  await rm(root, { recursive: true, force: true });
});

const exported = (spec: TrlProjectSpec, name: string) => exportProject(root, spec, name);

describe('the Python rewards score as the TypeScript rewards do', () => {
  test(`${COMPLETIONS.length} completions x ${REWARDS.length} rewards (built-ins, translated regexes, custom JavaScript under node): equal values`, async () => {
    const spec = grpoSpec();
    const { dir, files } = await exported(spec, 'grpo-rewards');
    // Each completion paired with a record, as TRL passes the record's columns beside it.
    const rows = [...jsonlRows(files.get('data/train.jsonl')), ...jsonlRows(files.get('data/eval.jsonl'))];
    const records = [...spec.records.train, ...spec.records.eval] as PromptRecord[];
    const cases = COMPLETIONS.map((completion, i) => ({ completion, row: rows[i % rows.length], record: records[i % records.length] }));
    const py = await pythonScores(dir, cases);
    const set = await createRewardSet(REWARDS, { sandbox, timeLimitMs: 2000 });
    const inputs = cases.map(({ completion, record }) => ({ prompt: '', completion: truncateAtStop(completion, STOPS), example: record.fields, completionTokens: 1, truncated: false }));
    const ts = await set.score(inputs);
    if (!py) return;
    for (const reward of REWARDS) expect(py[reward.name], reward.name).toEqual(Array.from(ts.perFunction[reward.name]));
    // Not a vacuous match: every reward takes more than one value over these completions, and errors score 0 on both sides.
    for (const reward of REWARDS) expect(new Set(py[reward.name]).size, `${reward.name} varies`).toBeGreaterThan(1);
    expect(ts.errors.some((e) => e.name === 'custom/throws')).toBe(true);
  }, 60_000);

  test('regexes translated from JavaScript match what JavaScript matches (ASCII \\d \\w \\b, JS \\s, "." and "$", empty backreferences)', () => {
    const patterns = [/[\D,]/, /[^\S\n]x/, /[^a\W]/, /\d+/, /^\w+$/, /\bcat\b/, /\s/, /a.b/, /a.b/s, /end$/, /^x/m, /end$/m, /[^\d,]+!/, /[\w-]{3}/, /a{,2}/, /(?<q>["'])x\k<q>/, /(a)?b\1c/, /colou?r/i, /\u00e9+/, /[\s\S]{2}z/, /\x41\u{1F600}/u];
    const texts = [',', ' x', '\nx', 'a', 'b', '٣٣', 'abc', 'é', 'caté', 'a cat!', '\u001c', '\u00a0', 'a\rb', 'a\nb', 'end\n', 'end', 'y\rx', 'end\u2028', '12x!', 'a-b', 'a{,2}', '"x"', "'x\"", 'bc', 'COLOR', 'éé', '\nz', 'A😀'];
    const expected = patterns.map((p) => texts.map((t) => (p.test(t) ? 1 : 0)));
    const sources = patterns.map((p) => jsRegexToPython(p).source);
    // Each pattern's JavaScript source read by Python as it is, beside the translation (None: Python refuses it).
    const script = [
      'import json, re, sys',
      'data = json.load(sys.stdin)',
      'def hits(p):',
      '    try:',
      '        return [1 if re.search(p, t) else 0 for t in data["texts"]]',
      '    except re.error:',
      '        return None',
      'print(json.dumps({"translated": [hits(p) for p in data["sources"]], "raw": [hits(p) for p in data["raw"]]}))',
    ].join('\n');
    const r = python(['-c', script], { input: JSON.stringify({ sources, texts, raw: patterns.map((p) => p.source) }) });
    if (!r) return;
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { translated: number[][]; raw: (number[] | null)[] };
    patterns.forEach((p, i) => expect(got.translated[i], `${p} -> ${sources[i]}`).toEqual(expected[i]));
    // Python's own reading of the same sources disagrees with JavaScript on most of these: the translation is what makes them agree.
    const differing = patterns.filter((_, i) => JSON.stringify(got.raw[i]) !== JSON.stringify(expected[i]));
    expect(differing.length, `raw Python differs on ${differing.join(' ')}`).toBeGreaterThanOrEqual(12);
  });

  test('what Python cannot say is refused with the reason', () => {
    expect(() => jsRegexToPython(/\p{L}/u)).toThrow(/Unicode property escapes/);
    expect(() => jsRegexToPython(new RegExp('a', 'v'))).toThrow(/the v flag/);
    expect(() => jsRegexToPython(new RegExp('a\\2(b)'))).toThrow(/refers to no group/);
  });

  test('a GRPO run with --reward and a --reward-module: the module\'s exports become node rewards that score as the sandbox does', async () => {
    const dir = join(root, 'run-grpo');
    await mkdir(dir, { recursive: true });
    const dataFile = join(root, 'prompts.jsonl');
    const prompts = ['Sue the cat', 'Tom the dog', 'Ann the owl', 'Bo the bee', 'Max the ox'].map((p, i) => ({ prompt: p, name: p.split(' ')[0], completion: `ref ${i}` }));
    await writeFile(dataFile, prompts.map((p) => JSON.stringify(p)).join('\n') + '\n');
    const moduleFile = join(root, 'my-rewards.js');
    await writeFile(moduleFile, ['// helpers stay private to the module', 'const size = (s) => s.length;', 'export function short(completion) { return size(completion) < 12 ? 1 : 0; }', 'export const shouty = (completion, example) => (completion === completion.toUpperCase() ? 2 : 0) + (example.completion ? 0.5 : 0);'].join('\n'));
    const run = {
      command: 'train', method: 'grpo', model: join(root, 'a-local-model'), revision: null, data: dataFile, eval_data: null, eval_split: 0.2,
      num_generations: 2, num_generations_eval: 2, max_completion_length: 32, temperature: 1, top_p: 1, top_k: 0, stop: [], beta: 0, epsilon: 0.2, epsilon_high: 0.2,
      num_iterations: 1, loss_type: 'dapo', scale_rewards: 'group', mask_truncated_completions: false,
      reward: 'contains={name}:2,short:0.5', reward_modules: [moduleFile], reward_time_limit_ms: 1000, rollouts: null, train_prompts: 4, eval_prompts: 1,
      lora: { r: 4, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj'], use_rslora: false, scale: 1, modules: 2, init_adapter: 'runs/sft/adapter' },
      steps: 6, epochs: null, batch_size: 2, grad_accum: 2, lr: 1e-4, scheduler: 'constant', warmup_steps: 0, max_grad_norm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0,
      eval_every: 3, save_every: 0, seed: 7, backend: 'gpu', weights: 'f16', recompute: false, resumed_from: null,
    };
    await writeFile(join(dir, 'run.json'), JSON.stringify(run));
    const spec = await trlSpecFromRunDir(dir);
    expect(spec.model.isLocal).toBe(true);
    expect(spec.grpo!.rewards.map((r) => [r.kind, r.name, r.weight])).toEqual([['contains', 'contains', 2], ['custom', 'short', 0.5], ['custom', 'shouty', 1]]);
    expect([spec.records.train.length, spec.records.eval.length]).toEqual([4, 1]);
    expect(spec.notes.join(' ')).toContain('started from the adapter runs/sft/adapter');
    const { dir: out, files } = await exported(spec, 'grpo-from-run');
    compiles(out, files);
    expect(files.get('train.py')).toContain('replace it with a Hub id or a path');
    const rows = [...jsonlRows(files.get('data/train.jsonl')), ...jsonlRows(files.get('data/eval.jsonl'))];
    const completions = ['Sue said hi', 'TOM SHOUTS LOUDLY', 'a quiet long answer', 'OK', 'Max'];
    const py = await pythonScores(out, completions.map((completion, i) => ({ completion, row: rows[i] })));
    const set = await createRewardSet(parseRewardSpecs(run.reward), { sandbox, timeLimitMs: 1000, customModules: [{ name: moduleFile, source: await readFile(moduleFile, 'utf8') }] });
    const records = [...spec.records.train, ...spec.records.eval] as PromptRecord[];
    const ts = await set.score(completions.map((completion, i) => ({ prompt: '', completion, example: records[i].fields, completionTokens: 1, truncated: false })));
    if (!py) return;
    for (const name of ['contains', 'short', 'shouty']) expect(py[name], name).toEqual(Array.from(ts.perFunction[name]));
    expect(py.shouty).toEqual([0.5, 2.5, 0.5, 2.5, 0.5]);
  }, 60_000);
});
