// "Export as a TRL project" (src/engine/export/trl): for every method the generated train.py compiles with
// python3, every value of its LoraConfig and TRL config reads back equal to the run's under TRL's name (the
// expected mapping is written out here by hand, so a swapped or renamed argument fails), and the dataset files
// are JSONL with TRL's columns and the run's counts. trlSpecFromRunDir reads a run.json of `tunelab train`'s
// shape and names a missing field; trlSpecFromRunSettings maps a stored run. Without python3 the compile checks
// are skipped with a printed reason, never silently. The rewards: trl-export-rewards.test.ts.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { trlSpecFromRunDir } from '../../src/cli/export-trl';
import { readExportFile } from '../../src/engine/export/export-file';
import { trlProjectFiles, TrlExportError, type TrlProjectSpec } from '../../src/engine/export/trl/trl-project';
import type { DatasetRecord, RunSettings } from '../../src/storage/records';
import { splitDataset } from '../../src/worker/dataset-split';
import { trlSpecFromRunSettings } from '../../src/worker/trl-export-spec';
import { sftRunSettings } from '../helpers/run-settings';
import { compiles, exportProject, jsonlRows, readCall, type Py } from '../helpers/trl-project-files';
import { base, grpoSpec, msg, pairs, PREF, PROMPTS, sftMessages, sftPromptCompletion } from '../helpers/trl-specs';

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

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tunelab-trl-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const exported = (spec: TrlProjectSpec, name: string) => exportProject(root, spec, name);

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
