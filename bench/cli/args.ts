// The bench's command line: flags -> BenchArgs (what the driver does) and the BenchOptions the measuring
// code runs with (DEFAULT_OPTIONS of bench/core/types.ts with the flags applied). Pure: no process, no
// file system, so tests/unit/bench-args.test.ts checks it directly.

import { resolve } from 'node:path';
import {
  DEFAULT_OPTIONS,
  TRAIN_MODELS,
  LARGE_TRAIN_MODELS,
  TRAIN_OBJECTIVES,
  type BenchOptions,
  type DecodeOptions,
  type EvalOptions,
  type GrpoOptions,
  type TrainModelId,
  type TrainBenchModelId,
  type TrainObjectiveId,
  type TrainOptions,
} from '../core/types';

/** The flags that change the matmul part of BenchOptions. */
export type MatmulFlags = Partial<Pick<BenchOptions, 'f16' | 'skipPeak' | 'skipCopy' | 'variants' | 'maxRunS' | 'budgetS' | 'shapes'>>;

export interface BenchArgs {
  json: boolean;
  node: boolean;
  systemVulkan: boolean;
  peer: boolean;
  help: boolean;
  chromium: string;
  /** Also write the JSON object here ('' = no file). */
  out: string;
  /** The folder holding stories260K/. */
  modelsDir: string;
  options: MatmulFlags;
  /** Overrides of DEFAULT_OPTIONS.train (a per-model value always names every model). */
  train: Partial<TrainOptions>;
  /** Overrides of DEFAULT_OPTIONS.eval. */
  eval: Partial<EvalOptions>;
  /** Overrides of DEFAULT_OPTIONS.grpo. */
  grpo: Partial<GrpoOptions>;
  /** Overrides of DEFAULT_OPTIONS.decode. */
  decode: Partial<DecodeOptions>;
}

export interface ArgsEnvironment {
  /** process.env: TUNELAB_CHROMIUM and TUNELAB_MODELS give defaults. */
  env: Record<string, string | undefined>;
  /** The repository root: the default models folder is ../shared/assets/models beside it. */
  root: string;
}

/** Bad command-line input; the driver prints its message and exits 2. */
export class ArgsError extends Error {
  override name = 'ArgsError';
}

/** --key=value or --flag. */
function splitArg(arg: string): [string, string] {
  const eq = arg.indexOf('=');
  return eq < 0 ? [arg, ''] : [arg.slice(0, eq), arg.slice(eq + 1)];
}

/** Readers of one flag's value, each throwing an ArgsError that names the flag. */
function valueReaders(key: string, value: string) {
  const num = (): number => {
    const v = Number(value);
    if (!value || !Number.isFinite(v) || v <= 0) throw new ArgsError(`${key} needs a positive number, e.g. ${key}=10`);
    return v;
  };
  const int = (): number => {
    const v = num();
    if (!Number.isInteger(v)) throw new ArgsError(`${key} needs a whole number, got ${value}`);
    return v;
  };
  /** A whole number >= 0 ("0" turns something off). */
  const count0 = (): number => {
    const v = Number(value);
    if (!value || !Number.isInteger(v) || v < 0) throw new ArgsError(`${key} needs a whole number >= 0, got ${JSON.stringify(value)}`);
    return v;
  };
  /** "8,1": one value per model of TRAIN_MODELS (one value: all of them); `min` 0 allows zero. */
  const perModel = (min: number): Record<TrainModelId, number> => {
    const parts = value.split(',');
    if (!value || parts.length > TRAIN_MODELS.length) {
      throw new ArgsError(`${key} takes 1 or ${TRAIN_MODELS.length} whole numbers (${TRAIN_MODELS.join(', ')}), e.g. ${key}=8,1`);
    }
    const vs = parts.map((p) => {
      const v = Number(p);
      if (!p || !Number.isInteger(v) || v < min) throw new ArgsError(`${key}: ${JSON.stringify(p)} is not a whole number >= ${min}`);
      return v;
    });
    return Object.fromEntries(TRAIN_MODELS.map((id, i) => [id, vs[Math.min(i, vs.length - 1)]])) as Record<TrainModelId, number>;
  };
  /** "1,8": whole numbers >= 1, in the order given. */
  const counts = (): number[] =>
    value.split(',').map((p) => {
      const v = Number(p);
      if (!p || !Number.isInteger(v) || v < 1) throw new ArgsError(`${key}: ${JSON.stringify(p)} is not a whole number >= 1 (e.g. ${key}=1,8)`);
      return v;
    });
  const list = (): string[] => {
    const items = value.split(',').map((x) => x.trim()).filter(Boolean);
    if (items.length === 0) throw new ArgsError(`${key} needs a comma-separated list`);
    return items;
  };
  /** Model names of `known` (default TRAIN_MODELS), case-insensitive, in the order given. */
  const models = <Id extends string = TrainModelId>(known: readonly Id[] = TRAIN_MODELS as unknown as readonly Id[]): Id[] =>
    list().map((m) => {
      const id = known.find((x) => x.toLowerCase() === m.toLowerCase());
      if (!id) throw new ArgsError(`${key}: unknown model ${m} (known: ${known.join(', ')})`);
      return id;
    });
  return { num, int, count0, perModel, counts, list, models };
}

export function parseArgs(argv: readonly string[], { env, root }: ArgsEnvironment): BenchArgs {
  const a: BenchArgs = {
    json: false,
    node: false,
    systemVulkan: false,
    peer: true,
    help: false,
    chromium: env.TUNELAB_CHROMIUM || '/usr/bin/chromium',
    out: '',
    modelsDir: env.TUNELAB_MODELS || resolve(root, '../shared/assets/models'),
    options: {},
    train: {},
    eval: {},
    grpo: {},
    decode: {},
  };
  const { options: o, train: t, eval: e, grpo: g, decode: d } = a;
  for (const arg of argv) {
    const [key, value] = splitArg(arg);
    const { num, int, count0, perModel, counts, list, models } = valueReaders(key, value);
    // Any option of a section turns the section on.
    if (key.startsWith('--train') || key.startsWith('--lora-')) t.enabled = true;
    if (key.startsWith('--eval')) e.enabled = true;
    if (key.startsWith('--grpo')) g.enabled = true;
    if (key.startsWith('--decode')) d.enabled = true;
    switch (key) {
      case '--json': a.json = true; break;
      case '--node': a.node = true; break;
      case '--system-vulkan': a.systemVulkan = true; break;
      case '--no-peer': a.peer = false; break;
      case '--no-f16': o.f16 = false; break;
      case '--no-peak': o.skipPeak = true; break;
      case '--no-copy': o.skipCopy = true; break;
      case '--variants': o.variants = true; break;
      case '--full':
        o.maxRunS = Infinity;
        t.enabled = true;
        e.enabled = true;
        g.enabled = true;
        d.enabled = true;
        break;
      case '--train': break;
      case '--train-models': t.models = models<TrainBenchModelId>([...TRAIN_MODELS, ...LARGE_TRAIN_MODELS]); break;
      case '--train-objectives':
        t.objectives = list().map((m) => {
          if (!(TRAIN_OBJECTIVES as readonly string[]).includes(m)) {
            throw new ArgsError(`--train-objectives: unknown objective ${m} (known: ${TRAIN_OBJECTIVES.join(', ')})`);
          }
          return m as TrainObjectiveId;
        });
        break;
      case '--train-seq': t.seqLen = int(); break;
      case '--train-batch': t.batch = perModel(1); break;
      case '--train-warmup': t.warmup = perModel(0); break;
      case '--train-steps': t.maxSteps = int(); break;
      case '--train-budget': t.budgetS = num(); break;
      case '--train-profile': t.profile = true; break;
      case '--train-cpu-steps': t.cpuSteps = count0(); break;
      case '--train-cpu-seq':
        t.cpuSeqLen = int();
        if (t.cpuSeqLen < 2) throw new ArgsError(`${key} needs at least 2 tokens (a prompt and an answer), got ${value}`);
        break;
      case '--lora-r': t.loraR = int(); break;
      case '--lora-alpha': t.loraAlpha = num(); break;
      case '--lora-targets': t.loraTargets = list(); break;
      case '--eval': break;
      case '--eval-models': e.models = models(); break;
      case '--eval-items': e.items = perModel(1); break;
      case '--eval-batch-tokens': e.batchTokens = int(); break;
      case '--eval-rounds': e.maxRounds = int(); break;
      case '--eval-budget': e.budgetS = num(); break;
      case '--grpo': break;
      case '--grpo-models': g.models = models(); break;
      case '--grpo-prompts': g.prompts = perModel(1); break;
      case '--grpo-generations':
        g.generations = int();
        // TRL: GRPO needs at least 2 generations per prompt for the advantages.
        if (g.generations < 2) throw new ArgsError('--grpo-generations must be at least 2');
        break;
      case '--grpo-prompt-tokens': g.promptTokens = int(); break;
      case '--grpo-completion': g.completionTokens = perModel(1); break;
      case '--grpo-warmup': g.warmup = perModel(0); break;
      case '--grpo-steps': g.steps = perModel(1); break;
      case '--grpo-reward':
        if (!value) throw new ArgsError('--grpo-reward needs reward specs, e.g. --grpo-reward=length=20');
        g.reward = value;
        break;
      case '--decode': break;
      case '--decode-models': d.models = models(); break;
      case '--decode-batch': d.batches = counts(); break;
      // At least 2: the first new token comes from the prompts' pass, the rest from decode steps.
      case '--decode-tokens': d.newTokens = perModel(2); break;
      case '--decode-prompt-tokens': d.promptTokens = int(); break;
      case '--decode-runs': d.runs = int(); break;
      case '--models':
        if (!value) throw new ArgsError('--models needs a folder, e.g. --models=../shared/assets/models');
        a.modelsDir = resolve(value);
        break;
      case '--max-run': o.maxRunS = num(); break;
      case '--budget': o.budgetS = num(); break;
      case '--chromium': a.chromium = value; break;
      case '--out':
        if (!value) throw new ArgsError('--out needs a file name, e.g. --out=bench/results/latest.json');
        a.out = value;
        break;
      case '--shapes':
        o.shapes = value
          .split(',')
          .filter(Boolean)
          .map((s) => {
            const i = Number(s);
            if (!Number.isInteger(i) || i < 0 || i > 4) throw new ArgsError(`--shapes takes indices 0..4, got ${s}`);
            return i;
          });
        break;
      case '--help':
      case '-h':
        a.help = true;
        break;
      default:
        throw new ArgsError(`unknown option ${arg} (see --help)`);
    }
  }
  return a;
}

/** DEFAULT_OPTIONS with the flags applied, section by section. */
export function benchOptions(args: BenchArgs, defaults: BenchOptions = DEFAULT_OPTIONS): BenchOptions {
  return {
    ...defaults,
    ...args.options,
    train: { ...defaults.train, ...args.train },
    eval: { ...defaults.eval, ...args.eval },
    grpo: { ...defaults.grpo, ...args.grpo },
    decode: { ...defaults.decode, ...args.decode },
  };
}

/**
 * Seconds after which the whole bench gives up. Every measurement has its own deadline; this only catches
 * what they cannot (a hung page, say): 900 s per trained model and objective (train-bench.ts,
 * DEADLINE_PER_OBJECTIVE_S), 1800 s per eval model, 1200 s per GRPO model (grpo-bench.ts, GRPO_DEADLINE_S),
 * 900 s per decode model (decode-bench.ts, DECODE_DEADLINE_S).
 */
export function watchdogSeconds(options: BenchOptions): number {
  const trainObjectives = options.train.enabled ? options.train.models.length * options.train.objectives.length : 0;
  const evalModels = options.eval.enabled ? options.eval.models.length : 0;
  const grpoModels = options.grpo.enabled ? options.grpo.models.length : 0;
  const decodeModels = options.decode.enabled ? options.decode.models.length : 0;
  return 1800 + 900 * trainObjectives + 1800 * evalModels + 1200 * grpoModels + 900 * decodeModels;
}
