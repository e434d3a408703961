// `tunelab export --format trl`'s input: the TRL project spec of a `tunelab train --out DIR` folder, read from
// its run.json (train.ts runRecord, train-setup.ts trainingRecord, train-grpo.ts for GRPO) and the data files
// it names, loaded as `tunelab train` loads them (train-data.ts, grpo-data.ts: parse, detect, normalise; bad
// lines skipped) and split the same way (--eval-data, or the seeded --eval-split). Tunelab splits after
// tokenizing, which can drop a record (a prompt with no room left); the spec then says that the counts differ.
// A field missing from run.json or of the wrong type is an error naming run.json and the field.

import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { detectFormat } from '../engine/data/detect';
import { toPromptDataset, type PromptRecord } from '../engine/data/prompt-examples';
import { parseRecords } from '../engine/data/read-records';
import { splitItems } from '../engine/data/split';
import type { TrlGrpoSettings, TrlMethod, TrlProjectSpec, TrlRecords, TrlRewardSpec } from '../engine/export/trl/trl-spec';
import { TRL_METHODS } from '../engine/export/trl/trl-spec';
import type { LoraConfig } from '../engine/lora/lora-config';
import { hubRepoIdProblem } from '../engine/model/hub-source';
import { parseRewardModule, parseRewardSpecs, type ParsedRewardModule } from '../engine/train/grpo/rewards';
import type { LoopConfig } from '../engine/train/train-loop';
import { readRewardModule } from './reward-module';
import { RUN_FILE } from './run-files';
import { readBytes, readPreferenceFile, readSftFile } from './train-data';

type Json = Record<string, unknown>;

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);

/** run.json's fields, each read with its type checked; errors name the file and the dotted field. */
class RunJson {
  constructor(
    readonly file: string,
    private readonly raw: Json,
    private readonly prefix = '',
  ) {}

  private fail(key: string, why: string): never {
    throw new Error(`${this.file}: field "${this.prefix}${key}" ${why}`);
  }

  private value(key: string): unknown {
    if (!(key in this.raw) || this.raw[key] === undefined) this.fail(key, 'is missing (it is written by `tunelab train --out DIR`)');
    return this.raw[key];
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  number(key: string): number {
    const v = this.value(key);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `must be a number, got ${describe(v)}`);
    return v;
  }

  integer(key: string): number {
    const v = this.number(key);
    if (!Number.isInteger(v)) this.fail(key, `must be a whole number, got ${v}`);
    return v;
  }

  string(key: string): string {
    const v = this.value(key);
    if (typeof v !== 'string') this.fail(key, `must be a string, got ${describe(v)}`);
    return v;
  }

  /** A string, or null/absent. */
  optionalString(key: string): string | undefined {
    if (!this.has(key)) return undefined;
    return this.string(key);
  }

  boolean(key: string): boolean {
    const v = this.value(key);
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${describe(v)}`);
    return v;
  }

  strings(key: string): string[] {
    const v = this.value(key);
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) this.fail(key, `must be a list of strings, got ${describe(v)}`);
    return v as string[];
  }

  choice<T extends string>(key: string, choices: readonly T[]): T {
    const v = this.string(key);
    if (!(choices as readonly string[]).includes(v)) this.fail(key, `must be one of ${choices.join(', ')}, got "${v}"`);
    return v as T;
  }

  object(key: string): RunJson {
    const v = this.value(key);
    if (!v || typeof v !== 'object' || Array.isArray(v)) this.fail(key, `must be an object, got ${describe(v)}`);
    return new RunJson(this.file, v as Json, `${this.prefix}${key}.`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A data path of run.json: as given (relative to where `tunelab train` ran), else relative to the run folder. */
async function dataPath(run: RunJson, key: string, runDir: string): Promise<string> {
  const given = run.string(key);
  if (await exists(given)) return given;
  const beside = resolve(runDir, given);
  if (await exists(beside)) return beside;
  throw new Error(`${run.file}: field "${key}" names ${given}, which is neither in the current folder nor in ${runDir}`);
}

function readLora(run: RunJson): LoraConfig {
  const lora = run.object('lora');
  return { r: lora.integer('r'), alpha: lora.number('lora_alpha'), dropout: lora.number('lora_dropout'), targets: lora.strings('target_modules'), useRslora: lora.boolean('use_rslora') };
}

function readLoop(run: RunJson): LoopConfig {
  return {
    batchSize: run.integer('batch_size'),
    gradAccum: run.integer('grad_accum'),
    steps: run.integer('steps'),
    lr: run.number('lr'),
    scheduler: run.choice('scheduler', ['constant', 'linear', 'cosine'] as const),
    warmupSteps: run.integer('warmup_steps'),
    maxGradNorm: run.number('max_grad_norm'),
    beta1: run.number('beta1'),
    beta2: run.number('beta2'),
    eps: run.number('eps'),
    weightDecay: run.number('weight_decay'),
    evalEvery: run.integer('eval_every'),
    saveEvery: run.integer('save_every'),
    seed: run.integer('seed'),
  };
}

/** --eval-data's records, or the seeded --eval-split of the training file's, as `tunelab train` splits. */
function split<T>(run: RunJson, all: T[], held: T[] | undefined, seed: number): { train: T[]; eval: T[] } {
  if (held) return { train: all, eval: held };
  const fraction = run.has('eval_split') ? run.number('eval_split') : 0;
  return fraction > 0 ? splitItems(all, { evalFraction: fraction, seed }) : { train: all, eval: [] };
}

async function readPrompts(file: string): Promise<PromptRecord[]> {
  const dataset = toPromptDataset(detectFormat(parseRecords(await readBytes(file), file), 'grpo'));
  if (dataset.examples.length === 0) throw new Error(`${file}: no usable prompts (${dataset.errorCount} skipped)`);
  return dataset.examples;
}

async function readRecords(run: RunJson, method: TrlMethod, runDir: string, seed: number): Promise<{ records: TrlRecords; datasetName: string }> {
  const file = await dataPath(run, 'data', runDir);
  const heldFile = run.has('eval_data') ? await dataPath(run, 'eval_data', runDir) : undefined;
  if (method === 'sft') {
    const read = async (f: string) => (await readSftFile(f)).examples;
    const { train, eval: held } = split(run, await read(file), heldFile ? await read(heldFile) : undefined, seed);
    return { records: { family: 'sft', train, eval: held }, datasetName: file };
  }
  if (method === 'grpo') {
    const { train, eval: held } = split(run, await readPrompts(file), heldFile ? await readPrompts(heldFile) : undefined, seed);
    return { records: { family: 'prompts', train, eval: held }, datasetName: file };
  }
  const read = async (f: string) => (await readPreferenceFile(f)).examples;
  const { train, eval: held } = split(run, await read(file), heldFile ? await read(heldFile) : undefined, seed);
  return { records: { family: 'preference', train, eval: held }, datasetName: file };
}

/** The JavaScript expression whose value is a module's export, as the sandbox binds it (moduleExportDefinition). */
function moduleExportExpression(module: ParsedRewardModule, local: string): string {
  return ['(function () {', "'use strict';", module.script, `return ${local};`, '})()'].join('\n');
}

/** The rewards in the order Tunelab's reward set has them: the --reward items, then unlisted module exports. */
async function readRewards(run: RunJson): Promise<TrlRewardSpec[]> {
  const paths = run.strings('reward_modules');
  const modules = await Promise.all(paths.map(async (path) => parseRewardModule((await readRewardModule(path)).source, path)));
  const exported = new Map(modules.flatMap((m) => m.exports.map((e) => [e.name, { module: m, local: e.local }] as const)));
  const specs = run.has('reward') ? parseRewardSpecs(run.string('reward')) : [];
  const used = new Set<string>();
  const rewards: TrlRewardSpec[] = specs.map((s) => {
    if (s.kind !== 'custom' || s.arg !== undefined) return { kind: s.kind, name: s.name, weight: s.weight, ...(s.arg !== undefined ? { arg: s.arg } : {}) };
    const target = exported.get(s.name);
    if (!target) throw new Error(`${run.file}: reward "${s.name}" is not exported by the reward modules of field "reward_modules" (${paths.join(', ') || 'none'})`);
    used.add(s.name);
    return { kind: 'custom', name: s.name, weight: s.weight, arg: moduleExportExpression(target.module, target.local) };
  });
  for (const [name, { module, local }] of exported) {
    if (!used.has(name)) rewards.push({ kind: 'custom', name, weight: 1, arg: moduleExportExpression(module, local) });
  }
  return rewards;
}

async function readGrpo(run: RunJson): Promise<TrlGrpoSettings> {
  if (run.has('rollouts')) {
    throw new Error(`${run.file}: field "rollouts" says the run trained on fixed completions (${run.string('rollouts')}); TRL's GRPOTrainer samples its own, so it cannot repeat this run`);
  }
  return {
    numGenerations: run.integer('num_generations'),
    numGenerationsEval: run.has('num_generations_eval') ? run.integer('num_generations_eval') : undefined,
    maxCompletionLength: run.integer('max_completion_length'),
    temperature: run.number('temperature'),
    topP: run.number('top_p'),
    topK: run.integer('top_k'),
    stopStrings: run.strings('stop'),
    beta: run.number('beta'),
    numIterations: run.integer('num_iterations'),
    epsilon: run.number('epsilon'),
    epsilonHigh: run.number('epsilon_high'),
    lossType: run.choice('loss_type', ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const),
    scaleRewards: run.choice('scale_rewards', ['group', 'batch', 'none'] as const),
    maskTruncatedCompletions: run.boolean('mask_truncated_completions'),
    rewards: await readRewards(run),
    rewardTimeLimitMs: run.number('reward_time_limit_ms'),
  };
}

/** The preference settings run.json records for each method (train-examples.ts), TRL's defaults for the rest. */
function readPreference(run: RunJson, method: TrlMethod): TrlProjectSpec['preference'] {
  return {
    beta: method === 'orpo' ? 0.1 : run.number('beta'),
    lossType: method === 'dpo' ? run.choice('loss_type', ['sigmoid', 'ipo', 'hinge', 'robust'] as const) : 'sigmoid',
    labelSmoothing: method === 'orpo' ? 0 : run.number('label_smoothing'),
    simpoGamma: method === 'simpo' ? run.number('simpo_gamma') : 0.5,
    orpoLambda: method === 'orpo' ? run.number('orpo_lambda') : 0.1,
    maxPromptLength: run.integer('max_prompt_length'),
    precomputeRef: method === 'dpo' ? run.boolean('precompute_ref') : false,
  };
}

/** Notes where the export cannot be the run: other counts after tokenizing, a starting adapter. */
function runNotes(run: RunJson, method: TrlMethod, records: TrlRecords): string[] {
  const notes: string[] = [];
  const [trainKey, evalKey] = method === 'grpo' ? ['train_prompts', 'eval_prompts'] : ['train_examples', 'eval_examples'];
  if (run.has(trainKey) && run.has(evalKey)) {
    const trained = run.integer(trainKey);
    const held = run.integer(evalKey);
    if (trained !== records.train.length || held !== records.eval.length) {
      notes.push(
        `Tunelab trained on ${trained} and held out ${held} after tokenizing (records with no room left were dropped, then the rest split); this export holds ${records.train.length} and ${records.eval.length}, so the held-out records may differ.`,
      );
    }
  }
  const lora = run.object('lora');
  const init = lora.has('init_adapter') ? lora.string('init_adapter') : undefined;
  if (init) {
    notes.push(
      `The run started from the adapter ${init} (--init-adapter)${method === 'dpo' || (method === 'grpo' && run.number('beta') !== 0) ? ', which was also its frozen reference' : ''}; train.py trains a fresh adapter from the base model.`,
    );
  }
  return notes;
}

export async function trlSpecFromRunDir(runDir: string): Promise<TrlProjectSpec> {
  const file = join(runDir, RUN_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'no such file (give the --out folder of `tunelab train`)' : (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${file}: must hold a JSON object`);
  const run = new RunJson(file, raw as Json);
  const method = run.choice('method', TRL_METHODS);
  const modelArg = run.string('model');
  const isLocal = (await exists(modelArg)) || hubRepoIdProblem(modelArg) !== undefined;
  const loop = readLoop(run);
  const lora = readLora(run);
  const { records, datasetName } = await readRecords(run, method, runDir, loop.seed);
  const grpo = method === 'grpo' ? await readGrpo(run) : undefined;
  return {
    method,
    source: `tunelab train --out ${runDir}`,
    datasetName,
    model: { id: isLocal ? resolve(modelArg) : modelArg, revision: run.optionalString('revision'), isLocal },
    lora,
    loop,
    maxLength: method === 'grpo' ? undefined : run.integer('max_length'),
    completionOnly: method === 'sft' ? run.boolean('completion_only') : true,
    preference: method === 'sft' || method === 'grpo' ? undefined : readPreference(run, method),
    grpo,
    records,
    notes: runNotes(run, method, records),
  };
}
