// "Export as a TRL project" (src/engine/export/trl): for every method the generated train.py (and rewards.py)
// compiles with python3, every value of its LoraConfig and TRL config reads back equal to the run's under
// TRL's name (the expected mapping is written out here by hand, so a swapped or renamed argument fails), the
// dataset files are JSONL with TRL's columns and the run's counts, and the Python rewards give exactly the
// TypeScript rewards' values. trlSpecFromRunDir reads a run.json of `tunelab train`'s shape and names a
// missing field. Without python3 the Python checks are skipped with a printed reason, never silently.

import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { trlSpecFromRunDir } from '../../src/cli/export-trl';
import type { ChatMessage } from '../../src/engine/data/messages';
import type { PromptRecord } from '../../src/engine/data/prompt-examples';
import { readExportFile, type ExportFile } from '../../src/engine/export/export-file';
import { jsRegexToPython } from '../../src/engine/export/trl/js-regex-to-python';
import { trlProjectFiles, TrlExportError, type TrlProjectSpec } from '../../src/engine/export/trl/trl-project';
import { truncateAtStop } from '../../src/engine/eval/suites/gsm8k';
import type { CodeSandbox } from '../../src/engine/eval/sandbox';
import { createRewardSet, parseRewardSpecs, type RewardSpec } from '../../src/engine/train/grpo/rewards';
import { createNodeSandbox } from '../../src/node/sandbox/node-sandbox';
import { writeExportFiles } from '../../src/node/write-export';
import type { DatasetRecord, RunSettings } from '../../src/storage/records';
import { splitDataset } from '../../src/worker/dataset-split';
import { trlSpecFromRunSettings } from '../../src/worker/trl-export-spec';
import { sftRunSettings } from '../helpers/run-settings';

// ---- python3, or a printed reason ----

const PYTHON = spawnSync('python3', ['--version'], { encoding: 'utf8' });
const HAS_PYTHON = !PYTHON.error && PYTHON.status === 0;
function python(args: string[], options: { cwd?: string; input?: string } = {}): { status: number; stdout: string; stderr: string } | undefined {
  if (!HAS_PYTHON) {
    console.warn(`SKIPPED python3 check (${args.join(' ')}): python3 is not available here (${PYTHON.error?.message ?? PYTHON.stderr})`);
    return undefined;
  }
  const r = spawnSync('python3', args, { encoding: 'utf8', ...options });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// ---- reading keyword=value lines of the generated Python back ----

type Py = string | number | boolean | null | Py[] | { name: string } | { call: string; args: Py[] };

/** One Python literal (the subset the export writes) starting at `at`. */
function parsePy(text: string, at: number): { value: Py; end: number } {
  const ws = () => {
    while (text[at] === ' ') at++;
  };
  ws();
  const c = text[at];
  if (c === '"') {
    let out = '';
    at++;
    while (text[at] !== '"') {
      if (text[at] !== '\\') {
        out += text[at++];
        continue;
      }
      const e = text[at + 1];
      const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"' };
      if (e in simple) (out += simple[e]), (at += 2);
      else {
        const width = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        out += String.fromCodePoint(parseInt(text.slice(at + 2, at + 2 + width), 16));
        at += 2 + width;
      }
    }
    return { value: out, end: at + 1 };
  }
  if (c === '[') {
    const items: Py[] = [];
    at++;
    ws();
    while (text[at] !== ']') {
      const item = parsePy(text, at);
      items.push(item.value);
      at = item.end;
      ws();
      if (text[at] === ',') at++;
      ws();
    }
    return { value: items, end: at + 1 };
  }
  const number = /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/i.exec(text.slice(at));
  if (number) return { value: Number(number[0]), end: at + number[0].length };
  const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at))![0];
  at += word.length;
  if (word === 'True' || word === 'False') return { value: word === 'True', end: at };
  if (word === 'None') return { value: null, end: at };
  if (text[at] !== '(') return { value: { name: word }, end: at };
  const args: Py[] = [];
  at++;
  while (text[at] !== ')') {
    const arg = parsePy(text, at);
    args.push(arg.value);
    at = arg.end;
    if (text[at] === ',') at++;
    ws();
  }
  return { value: { call: word, args }, end: at + 1 };
}

/** The keyword arguments of `VARIABLE = Callee(` ... `)`, one `key=value,` a line (comments after). */
function readCall(source: string, variable: string): { callee: string; args: Record<string, Py> } {
  const lines = source.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${variable} = `));
  expect(start, `${variable} = ... in the script`).toBeGreaterThanOrEqual(0);
  const callee = /= ([\w.]+)\($/.exec(lines[start])![1];
  const args: Record<string, Py> = {};
  for (let i = start + 1; lines[i] !== ')'; i++) {
    const key = /^ {4}(\w+)=/.exec(lines[i]);
    if (!key) throw new Error(`line ${i + 1} is not key=value: ${lines[i]}`);
    const { value, end } = parsePy(lines[i], key[0].length);
    if (!/^,(\s+#.*)?$/.test(lines[i].slice(end))) throw new Error(`line ${i + 1}: unexpected text after the value: ${lines[i]}`);
    expect(key[1] in args, `${key[1]} given twice`).toBe(false);
    args[key[1]] = value;
  }
  return { callee, args };
}

// ---- specs ----

const LOOP = { batchSize: 4, gradAccum: 2, steps: 30, lr: 3e-4, scheduler: 'constant' as const, warmupSteps: 5, maxGradNorm: 0.7, beta1: 0.85, beta2: 0.97, eps: 1e-7, weightDecay: 0.01, evalEvery: 10, saveEvery: 0, seed: 17 };
const LORA = { r: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'], useRslora: true };
const PREF = { beta: 0.2, lossType: 'robust' as const, labelSmoothing: 0.1, simpoGamma: 0.7, orpoLambda: 0.3, maxPromptLength: 64, precomputeRef: true };
const msg = (role: string, content: string, train = role === 'assistant'): ChatMessage => ({ role, content, train });

function base(method: TrlProjectSpec['method'], records: TrlProjectSpec['records']): TrlProjectSpec {
  return { method, source: 'a test', datasetName: 'test.jsonl', model: { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', revision: 'main', isLocal: false }, lora: LORA, loop: LOOP, maxLength: 256, completionOnly: true, records, notes: [] };
}

const sftMessages = (): TrlProjectSpec => ({
  ...base('sft', {
    family: 'sft',
    // Several assistant turns: "messages" with assistant_only_loss.
    train: [1, 2, 3, 4, 5].map((i) => ({ line: i, example: { kind: 'chat' as const, messages: [msg('user', `q${i}`), msg('assistant', `a${i}`), msg('user', 'more'), msg('assistant', `b${i}`)] } })),
    eval: [{ line: 6, example: { kind: 'chat', messages: [msg('system', 'be brief'), msg('user', 'q6'), msg('assistant', 'a6')] } }],
  }),
  lora: { ...LORA, targets: ['all-linear'], useRslora: false },
  loop: { ...LOOP, scheduler: 'cosine', warmupSteps: 0, saveEvery: 10 },
});

const sftPromptCompletion = (): TrlProjectSpec => ({
  ...base('sft', {
    family: 'sft',
    train: [1, 2, 3].map((i) => ({ line: i, example: { kind: 'prompt-completion' as const, prompt: `Q${i} "quoted" \\ é 😀`, completion: ` A${i}` } })),
    eval: [],
  }),
  completionOnly: false,
  loop: { ...LOOP, scheduler: 'linear' },
});

const pairs = (): TrlProjectSpec['records'] => ({
  family: 'preference',
  train: [1, 2, 3, 4].map((i) => ({ line: i, example: { kind: 'text' as const, prompt: `P${i}`, chosen: ` good ${i}`, rejected: ` bad ${i}` } })),
  eval: [{ line: 5, example: { kind: 'text', prompt: 'P5', chosen: ' good', rejected: ' bad' } }],
});

const CUSTOM_LEN = '(completion, example) => completion.length / 8 + (example.name === "Sue" ? 1 : 0)';
const CUSTOM_THROWS = '(completion) => { if (completion.includes("boom")) throw new RangeError("boom in " + completion); return completion.split(" ").length; }';
const REWARDS: RewardSpec[] = [
  { kind: 'answer-match', name: 'answer-match', weight: 1 },
  { kind: 'answer-match', name: 'answer-regex', weight: 0.5, arg: '/answer:\\s*(\\S+)/i' },
  { kind: 'format', name: 'format', weight: 0.25 },
  { kind: 'regex', name: 'once', weight: 1, arg: '/^\\s*once\\b/im' },
  { kind: 'regex', name: 'dot-end', weight: 1, arg: '\\d{2,}.$' },
  { kind: 'contains', name: 'names', weight: 2, arg: '{name}' },
  { kind: 'contains', name: 'number', weight: 1, arg: 'n={n}' },
  { kind: 'not-contains', name: 'no-bad', weight: -1, arg: 'bad' },
  { kind: 'length', name: 'length', weight: 0.5, arg: '5' },
  { kind: 'json', name: 'json', weight: 1 },
  { kind: 'custom', name: 'custom len', weight: 1, arg: CUSTOM_LEN },
  { kind: 'custom', name: 'custom/throws', weight: 1, arg: CUSTOM_THROWS },
];
const STOPS = ['\nQuestion:'];
const PROMPTS: PromptRecord[] = [
  { line: 1, prompt: 'Sue the cat. Once', fields: { answer: 'she ate 6 #### 72', name: 'Sue', n: 72, completion: 'ref text' } },
  { line: 2, prompt: 'Tom', fields: { answer: 'Seven', name: 'Tom', n: 0.5 } },
  { line: 3, prompt: 'Big', fields: { answer: '1,234', name: 'Émile', n: 1e21 } },
  { line: 4, prompt: 'Tiny', fields: { answer: '$5', n: 1e-7 } },
  { line: 5, prompt: 'None', fields: { name: 'Ann', n: 123456789012 } },
  { line: 6, prompt: 'Neg', fields: { answer: '-3.50', name: 'Bo', n: -0.25 } },
];
const COMPLETIONS = [
  'She ate 6 and then 66 more. #### 72',
  'The answer is 72.',
  'answer: seven',
  'ANSWER:   Seven.',
  '1,234 apples and 1234',
  '$5',
  '  once upon a time, Sue',
  'x\nOnce more 99.',
  '{"a": [1, 2, {"b": null}]}',
  '  [1, 2]\u00a0',
  'NaN',
  'bad words here',
  'one two three four five',
  'word\u2003word\u1680word\u001cword',
  'boom goes the line',
  '',
  'n=72 and n=0.5 and n=1e+21',
  'n=1e-7 n=123456789012 n=-0.25',
  'Émile wrote 12\nQuestion: what? #### 72',
  '-3.5 is it #### -3.50',
  'answer: 1,234\n',
  'ends with 42\n',
];

const grpoSpec = (): TrlProjectSpec => ({
  ...base('grpo', { family: 'prompts', train: PROMPTS.slice(0, 4), eval: PROMPTS.slice(4) }),
  loop: { ...LOOP, batchSize: 4, gradAccum: 4 },
  maxLength: undefined,
  grpo: {
    numGenerations: 4,
    numGenerationsEval: 2,
    maxCompletionLength: 48,
    temperature: 0.9,
    topP: 0.95,
    topK: 40,
    stopStrings: STOPS,
    beta: 0.04,
    numIterations: 2,
    epsilon: 0.2,
    epsilonHigh: 0.28,
    lossType: 'dr_grpo',
    scaleRewards: 'batch',
    maskTruncatedCompletions: true,
    rewards: REWARDS,
    rewardTimeLimitMs: 2000,
  },
});

// ---- the expected TRL and PEFT arguments, by hand ----

function expectedLora(spec: TrlProjectSpec): Record<string, Py> {
  const all = spec.lora.targets.includes('all-linear');
  return { r: spec.lora.r, lora_alpha: spec.lora.alpha, lora_dropout: spec.lora.dropout, target_modules: all ? 'all-linear' : spec.lora.targets, use_rslora: spec.lora.useRslora, bias: 'none', task_type: 'CAUSAL_LM' };
}

const SCHEDULERS: Record<string, string> = { constant: 'constant', linear: 'linear', cosine: 'cosine' };

function expectedTraining(spec: TrlProjectSpec, hasEval: boolean, sftLoss?: [boolean, boolean]): Record<string, Py> {
  const l = spec.loop;
  const g = spec.grpo;
  const evaluating = hasEval && l.evalEvery > 0;
  const common: Record<string, Py> = {
    output_dir: { name: 'OUTPUT_DIR' },
    max_steps: l.steps,
    per_device_train_batch_size: l.batchSize,
    gradient_accumulation_steps: { call: 'per_process', args: [l.gradAccum] },
    learning_rate: l.lr,
    lr_scheduler_type: l.scheduler === 'constant' && l.warmupSteps > 0 ? 'constant_with_warmup' : SCHEDULERS[l.scheduler],
    warmup_steps: l.warmupSteps,
    max_grad_norm: l.maxGradNorm,
    optim: 'adamw_torch',
    adam_beta1: l.beta1,
    adam_beta2: l.beta2,
    adam_epsilon: l.eps,
    weight_decay: l.weightDecay,
    seed: l.seed,
    logging_steps: 1,
    eval_strategy: evaluating ? 'steps' : 'no',
    ...(evaluating ? { eval_steps: l.evalEvery, eval_on_start: true } : {}),
    per_device_eval_batch_size: g ? (g.numGenerationsEval ?? g.numGenerations) : l.batchSize,
    save_strategy: l.saveEvery > 0 ? 'steps' : 'no',
    ...(l.saveEvery > 0 ? { save_steps: l.saveEvery } : {}),
    bf16: { call: 'bf16_supported', args: [] },
    report_to: 'none',
  };
  const p = spec.preference!;
  switch (spec.method) {
    case 'sft':
      return { ...common, max_length: spec.maxLength!, packing: false, completion_only_loss: sftLoss![0], assistant_only_loss: sftLoss![1] };
    case 'dpo':
      return { ...common, max_length: spec.maxLength!, beta: p.beta, loss_type: [p.lossType], label_smoothing: p.labelSmoothing, precompute_ref_log_probs: p.precomputeRef, disable_dropout: false };
    case 'simpo':
      return { ...common, max_length: spec.maxLength!, loss_type: 'simpo', cpo_alpha: 0, beta: p.beta, simpo_gamma: p.simpoGamma, label_smoothing: p.labelSmoothing, disable_dropout: false };
    case 'orpo':
      return { ...common, max_length: spec.maxLength!, beta: p.orpoLambda, disable_dropout: false };
    case 'grpo':
      return {
        ...common,
        num_generations: g!.numGenerations,
        num_generations_eval: g!.numGenerationsEval!,
        max_completion_length: g!.maxCompletionLength,
        temperature: g!.temperature,
        top_p: g!.topP,
        top_k: g!.topK,
        beta: g!.beta,
        num_iterations: g!.numIterations,
        epsilon: g!.epsilon,
        epsilon_high: g!.epsilonHigh,
        loss_type: g!.lossType,
        scale_rewards: g!.scaleRewards,
        mask_truncated_completions: g!.maskTruncatedCompletions,
        reward_weights: g!.rewards.map((r) => r.weight),
        remove_unused_columns: false,
        disable_dropout: false,
      };
  }
}

const CALLEES: Record<TrlProjectSpec['method'], string> = { sft: 'SFTConfig', dpo: 'DPOConfig', simpo: 'CPOConfig', orpo: 'ORPOConfig', grpo: 'GRPOConfig' };
const IMPORTS: Record<TrlProjectSpec['method'], string> = {
  sft: 'from trl import SFTConfig, SFTTrainer',
  dpo: 'from trl import DPOConfig, DPOTrainer',
  simpo: 'from trl.experimental.cpo import CPOConfig, CPOTrainer',
  orpo: 'from trl.experimental.orpo import ORPOConfig, ORPOTrainer',
  grpo: 'from trl import GRPOConfig, GRPOTrainer',
};

// ---- the project on disk ----

let root: string;
let sandbox: CodeSandbox;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tunelab-trl-'));
  sandbox = createNodeSandbox();
});
afterAll(async () => {
  sandbox.dispose();
  await rm(root, { recursive: true, force: true });
});

async function exported(spec: TrlProjectSpec, name: string): Promise<{ dir: string; files: Map<string, string> }> {
  const list: ExportFile[] = trlProjectFiles(spec);
  const dir = join(root, name);
  await writeExportFiles(dir, list);
  const files = new Map<string, string>();
  for (const f of list) files.set(f.path, new TextDecoder().decode(await readExportFile(f)));
  return { dir, files };
}

function compiles(dir: string, files: Map<string, string>): void {
  const sources = [...files.keys()].filter((p) => p.endsWith('.py'));
  const r = python(['-m', 'py_compile', ...sources], { cwd: dir });
  if (r) expect(r.status, `py_compile ${sources.join(' ')}: ${r.stderr}`).toBe(0);
}

function jsonlRows(text: string | undefined): Record<string, unknown>[] {
  expect(text, 'the dataset file').toBeDefined();
  return text!.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Every reward of the project's rewards.py on each completion, called as TRL calls them (the row's columns as keyword lists). */
async function pythonScores(dir: string, cases: { completion: string; row: Record<string, unknown> }[]): Promise<Record<string, number[]> | undefined> {
  await writeFile(join(dir, 'cases.json'), JSON.stringify(cases.map(({ completion, row }) => ({ completion, row }))));
  await writeFile(
    join(dir, 'score.py'),
    [
      'import json, sys',
      'import rewards',
      'cases = json.load(open("cases.json", encoding="utf-8"))',
      'keys = sorted({k for c in cases for k in c["row"] if k != "prompt"})',
      'columns = {k: [c["row"].get(k) for c in cases] for k in keys}',
      'rewards.check_rewards()',
      'out = {f.__name__: f(prompts=[c["row"]["prompt"] for c in cases], completions=[c["completion"] for c in cases], completion_ids=None, trainer_state=None, log_extra=None, log_metric=None, **columns) for f in rewards.REWARD_FUNCS}',
      'print(json.dumps(out))',
    ].join('\n'),
  );
  const r = python(['score.py'], { cwd: dir });
  if (!r) return undefined;
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, number[]>;
}

function checkConfigs(spec: TrlProjectSpec, trainPy: string, hasEval: boolean, sftLoss?: [boolean, boolean]): void {
  expect(trainPy).toContain(IMPORTS[spec.method]);
  expect(trainPy).toContain(`MODEL_ID = "${spec.model.id}"`);
  const lora = readCall(trainPy, 'PEFT_CONFIG');
  expect(lora.callee).toBe('LoraConfig');
  expect(lora.args).toEqual(expectedLora(spec));
  const training = readCall(trainPy, 'TRAINING_CONFIG');
  expect(training.callee).toBe(CALLEES[spec.method]);
  expect(training.args).toEqual(expectedTraining(spec, hasEval, sftLoss));
}

describe('train.py compiles and holds the run\'s values under TRL\'s names', () => {
  test('SFT, conversations with several assistant turns: "messages" with assistant_only_loss, all-linear, cosine', async () => {
    const spec = sftMessages();
    const { dir, files } = await exported(spec, 'sft-messages');
    compiles(dir, files);
    checkConfigs(spec, files.get('train.py')!, true, [false, true]);
    const train = jsonlRows(files.get('data/train.jsonl'));
    expect(train).toHaveLength(5);
    expect(train.every((r) => Object.keys(r).join() === 'messages')).toBe(true);
    expect(train[0].messages).toEqual([{ role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'more' }, { role: 'assistant', content: 'b1' }]);
    expect(jsonlRows(files.get('data/eval.jsonl'))).toHaveLength(1);
    expect(files.get('README.md')).toContain('accelerate launch --config_file accelerate_config.yaml --num_processes N train.py');
    expect(files.get('accelerate_config.yaml')).toContain('distributed_type: MULTI_GPU');
    const run = JSON.parse(files.get('run.json')!);
    expect([run.beta1, run.beta2, run.lr_scheduler_type, run.dataset.train, run.dataset.eval]).toEqual([0.85, 0.97, 'cosine', 5, 1]);
  });

  test('SFT, single-turn conversations become conversational prompt-completion (any chat template masks them)', async () => {
    const spec = sftMessages();
    spec.records = { family: 'sft', train: [1, 2].map((i) => ({ line: i, example: { kind: 'chat', messages: [msg('system', 's'), msg('user', `q${i}`), msg('assistant', `a${i}`)] } })), eval: [] };
    const { files } = await exported(spec, 'sft-single-turn');
    checkConfigs(spec, files.get('train.py')!, false, [true, false]);
    const rows = jsonlRows(files.get('data/train.jsonl'));
    expect(rows[1]).toEqual({ prompt: [{ role: 'system', content: 's' }, { role: 'user', content: 'q2' }], completion: [{ role: 'assistant', content: 'a2' }] });
    expect(files.has('data/eval.jsonl')).toBe(false);
  });

  test('SFT, prompt-completion with the prompt trained too (completion_only_loss False), linear schedule', async () => {
    const spec = sftPromptCompletion();
    const { dir, files } = await exported(spec, 'sft-pc');
    compiles(dir, files);
    checkConfigs(spec, files.get('train.py')!, false, [false, false]);
    const rows = jsonlRows(files.get('data/train.jsonl'));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual({ prompt: 'Q1 "quoted" \\ é 😀', completion: ' A1' });
  });

  for (const method of ['dpo', 'simpo', 'orpo'] as const) {
    test(`${method.toUpperCase()}: ${CALLEES[method]} with the run's objective settings`, async () => {
      const spec: TrlProjectSpec = { ...base(method, pairs()), preference: PREF };
      const { dir, files } = await exported(spec, method);
      compiles(dir, files);
      checkConfigs(spec, files.get('train.py')!, true);
      const train = jsonlRows(files.get('data/train.jsonl'));
      expect(train).toHaveLength(4);
      expect(train[2]).toEqual({ prompt: 'P3', chosen: ' good 3', rejected: ' bad 3' });
      expect(jsonlRows(files.get('data/eval.jsonl'))).toHaveLength(1);
      expect(files.get('README.md')).toContain('no max_prompt_length');
    });
  }

  test('GRPO: GRPOConfig with the run\'s sampling and loss, prompts with reward columns ("completion" renamed), node scripts', async () => {
    const spec = grpoSpec();
    const { dir, files } = await exported(spec, 'grpo');
    compiles(dir, files);
    checkConfigs(spec, files.get('train.py')!, true);
    expect(files.get('train.py')).toContain('16 completions per optimizer step = 4 prompts x 4 completions');
    const train = jsonlRows(files.get('data/train.jsonl'));
    expect(train).toHaveLength(4);
    expect(train[0]).toEqual({ prompt: 'Sue the cat. Once', answer: 'she ate 6 #### 72', name: 'Sue', n: 72, tunelab_field_completion: 'ref text' });
    expect(jsonlRows(files.get('data/eval.jsonl'))).toHaveLength(2);
    expect([...files.keys()].filter((p) => p.startsWith('rewards/')).sort()).toEqual(['rewards/custom_len.cjs', 'rewards/custom_throws.cjs']);
    expect(files.get('README.md')).toContain('node');
  });

  test('a broken mapping fails the read-back: adam_beta1 and adam_beta2 swapped, or the wrong scheduler', async () => {
    const spec = sftPromptCompletion();
    const trainPy = (await exported(spec, 'broken')).files.get('train.py')!;
    const swapped = trainPy.replace('adam_beta1=0.85,', 'adam_beta1=0.97,').replace('adam_beta2=0.97,', 'adam_beta2=0.85,');
    expect(swapped).not.toBe(trainPy);
    expect(() => checkConfigs(spec, swapped, false, [false, false])).toThrow();
    const constant = { ...spec, loop: { ...spec.loop, scheduler: 'constant' as const } };
    const constantPy = (await exported(constant, 'constant')).files.get('train.py')!;
    expect(readCall(constantPy, 'TRAINING_CONFIG').args.lr_scheduler_type).toBe('constant_with_warmup');
    expect(() => checkConfigs(constant, constantPy.replace('"constant_with_warmup"', '"constant"'), false, [false, false])).toThrow();
  });

  test('refusals name the record: pre-tokenized pairs, mixed shapes, a field of two types', () => {
    const tokens: TrlProjectSpec = { ...base('dpo', { family: 'preference', train: [{ line: 3, example: { kind: 'tokens', prompt: [1], chosen: [2], rejected: [3] } }], eval: [] }), preference: PREF };
    expect(() => trlProjectFiles(tokens)).toThrow(/train line 3 is a pre-tokenized pair/);
    const mixed = base('sft', { family: 'sft', train: [{ line: 1, example: { kind: 'text', text: 'a' } }, { line: 2, example: { kind: 'prompt-completion', prompt: 'p', completion: 'c' } }], eval: [] });
    expect(() => trlProjectFiles(mixed)).toThrow(TrlExportError);
    const twoTypes = { ...grpoSpec(), records: { family: 'prompts' as const, train: [PROMPTS[0], { line: 9, prompt: 'x', fields: { n: 'seven' } }], eval: [] } };
    expect(() => trlProjectFiles(twoTypes)).toThrow(/field "n" is a number in train line 1 and a string in train line 9/);
  });
});

describe('the Python rewards score as the TypeScript rewards do', () => {
  test(`${COMPLETIONS.length} completions x ${REWARDS.length} rewards (built-ins, translated regexes, custom JavaScript under node): equal values`, async () => {
    const spec = grpoSpec();
    const { dir, files } = await exported(spec, 'grpo-rewards');
    // Each completion paired with a record, as TRL passes the record's columns beside it.
    const rows = [...jsonlRows(files.get('data/train.jsonl')), ...jsonlRows(files.get('data/eval.jsonl'))];
    const records = [...spec.records.train, ...spec.records.eval] as PromptRecord[];
    const cases = COMPLETIONS.map((completion, i) => ({ completion, row: rows[i % rows.length], record: records[i % records.length] }));
    const r = await pythonScores(dir, cases);
    const set = await createRewardSet(REWARDS, { sandbox, timeLimitMs: 2000 });
    const inputs = cases.map(({ completion, record }) => ({ prompt: '', completion: truncateAtStop(completion, STOPS), example: record.fields, completionTokens: 1, truncated: false }));
    const ts = await set.score(inputs);
    if (!r) return;
    const py = r;
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
});

// ---- trlSpecFromRunDir ----

describe('trlSpecFromRunDir reads what `tunelab train --out DIR` writes', () => {
  /** run.json in the shape of train.ts runRecord + train-setup.ts trainingRecord (a DPO run with --eval-split). */
  const runJson = (data: string) => ({
    command: 'train',
    method: 'dpo',
    model: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    revision: null,
    data,
    eval_data: null,
    eval_split: 0.25,
    train_examples: 6,
    eval_examples: 2,
    max_length: 384,
    truncated: 0,
    prompt_truncated: 0,
    max_prompt_length: 128,
    beta: 0.3,
    loss_type: 'hinge',
    label_smoothing: 0,
    reference: 'base (adapter off)',
    precompute_ref: false,
    lora: { r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: ['q_proj', 'k_proj'], use_rslora: false, scale: 2, modules: 60, init_adapter: null },
    steps: 12,
    epochs: null,
    batch_size: 2,
    grad_accum: 3,
    lr: 5e-5,
    scheduler: 'linear',
    warmup_steps: 2,
    max_grad_norm: 1,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weight_decay: 0,
    eval_every: 4,
    save_every: 6,
    seed: 42,
    backend: 'gpu',
    weights: 'f16',
    recompute: false,
    resumed_from: null,
  });

  test('a DPO run: settings, data split as `tunelab train` splits it, and a project from it', async () => {
    const dir = join(root, 'run-dpo');
    const dataFile = join(root, 'pairs.jsonl');
    const lines = Array.from({ length: 8 }, (_, i) => JSON.stringify({ prompt: `Q${i}`, chosen: ` yes ${i}`, rejected: ` no ${i}` }));
    await writeFile(dataFile, lines.join('\n') + '\n');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'run.json'), JSON.stringify(runJson(dataFile), null, 2));
    const spec = await trlSpecFromRunDir(dir);
    expect(spec.method).toBe('dpo');
    expect(spec.model).toEqual({ id: 'HuggingFaceTB/SmolLM2-135M-Instruct', revision: undefined, isLocal: false });
    expect(spec.lora).toEqual({ r: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'k_proj'], useRslora: false });
    expect(spec.loop).toEqual({ batchSize: 2, gradAccum: 3, steps: 12, lr: 5e-5, scheduler: 'linear', warmupSteps: 2, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, evalEvery: 4, saveEvery: 6, seed: 42 });
    expect(spec.maxLength).toBe(384);
    expect(spec.preference).toEqual({ beta: 0.3, lossType: 'hinge', labelSmoothing: 0, simpoGamma: 0.5, orpoLambda: 0.1, maxPromptLength: 128, precomputeRef: false });
    // 8 pairs, a quarter held out by the seeded split: the run's 6 + 2, so no note about counts.
    expect([spec.records.train.length, spec.records.eval.length]).toEqual([6, 2]);
    expect(spec.notes).toEqual([]);
    const trainPy = new TextDecoder().decode(await readExportFile(trlProjectFiles(spec).find((f) => f.path === 'train.py')!));
    checkConfigs(spec, trainPy, true);
  });

  test('a missing or mistyped field is named with run.json', async () => {
    const dir = join(root, 'run-missing');
    const dataFile = join(root, 'pairs.jsonl');
    const { lr: _lr, ...noLr } = runJson(dataFile);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'run.json'), JSON.stringify(noLr));
    await expect(trlSpecFromRunDir(dir)).rejects.toThrow(`${join(dir, 'run.json')}: field "lr" is missing`);
    await writeFile(join(dir, 'run.json'), JSON.stringify({ ...runJson(dataFile), lora: { ...runJson(dataFile).lora, r: 'eight' } }));
    await expect(trlSpecFromRunDir(dir)).rejects.toThrow('field "lora.r" must be a number, got string');
    await writeFile(join(dir, 'run.json'), JSON.stringify({ ...runJson(join(root, 'nowhere.jsonl')) }));
    await expect(trlSpecFromRunDir(dir)).rejects.toThrow(/field "data" names .*nowhere\.jsonl/);
    expect(await readFile(join(dir, 'run.json'), 'utf8')).toContain('nowhere');
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
    checkConfigs(spec, files.get('train.py')!, true);
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

describe('trlSpecFromRunSettings maps a stored run', () => {
  function dataset(method: 'sft'): Extract<DatasetRecord, { method: 'sft' }>;
  function dataset(method: 'dpo'): Extract<DatasetRecord, { method: 'dpo' }>;
  function dataset(method: 'sft' | 'dpo'): DatasetRecord {
    const header = { id: 'd1', name: 'stories', source: 'stories.jsonl', createdAt: '2026-01-01', skipped: [], split: { evalFraction: 0.2, seed: 3 } };
    if (method === 'dpo') return { ...header, method, format: 'preference', identical: 0, examples: [1, 2, 3].map((i) => ({ line: i, example: { kind: 'text' as const, prompt: `p${i}`, chosen: 'c', rejected: 'r' } })) };
    return { ...header, method, format: 'prompt-completion', examples: Array.from({ length: 10 }, (_, i) => ({ line: i + 1, example: { kind: 'prompt-completion' as const, prompt: `p${i}`, completion: ` c${i}` } })) };
  }

  test('settings field for field, the dataset split as the Data page splits it, and a compiling project', async () => {
    const settings: RunSettings = { ...sftRunSettings(20, 5, 4), model: { kind: 'hub', id: 'HuggingFaceTB/SmolLM2-135M', revision: 'main', endpoint: 'https://huggingface.co' }, initAdapter: { id: 'a', name: 'earlier SFT' } };
    const spec = trlSpecFromRunSettings(settings, dataset('sft'), 'SFT 3');
    expect(spec.model).toEqual({ id: 'HuggingFaceTB/SmolLM2-135M', revision: 'main', isLocal: false });
    expect(spec.lora).toEqual(settings.lora);
    expect(spec.loop).toEqual(settings.loop);
    expect([spec.maxLength, spec.completionOnly]).toEqual([64, true]);
    const split = splitDataset(dataset('sft'));
    expect(spec.records.train).toEqual(split.train);
    expect(spec.records.eval).toEqual(split.eval);
    expect([spec.records.train.length, spec.records.eval.length]).toEqual([8, 2]);
    expect(spec.notes).toEqual(['The run started from the saved adapter "earlier SFT"; train.py trains a fresh adapter from the base model.']);
    const { dir, files } = await exported(spec, 'from-settings');
    compiles(dir, files);
    checkConfigs(spec, files.get('train.py')!, true, [true, false]);
  });

  test('refuses the demo model and a dataset of the wrong family, saying why', () => {
    expect(() => trlSpecFromRunSettings({ ...sftRunSettings(5, 0, 0), model: { kind: 'demo' } }, dataset('sft'), 'demo')).toThrow(/exists only inside Tunelab/);
    expect(() => trlSpecFromRunSettings({ ...sftRunSettings(5, 0, 0), method: 'dpo' }, dataset('sft'), 'x')).toThrow(/DPO needs/);
    // A DPO run stored without preference settings trained with TRL's defaults (run-data.ts objectiveSettings).
    const dpo = trlSpecFromRunSettings({ ...sftRunSettings(5, 0, 0), method: 'dpo' }, dataset('dpo'), 'x');
    expect(dpo.preference).toEqual({ beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0, simpoGamma: 0.5, orpoLambda: 0.1, maxPromptLength: 512, precomputeRef: false });
    expect(dpo.records.family).toBe('preference');
  });
});
