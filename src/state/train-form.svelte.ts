// The Train page's settings form: method (SFT, DPO, SimPO, ORPO, GRPO) and its fields, the adapter to start from,
// LoRA, optimizer, schedule and run length, with defaults for the loaded model and method, a check that
// names the first bad field, and the RunSettings the worker takes.

import { TARGET_NAMES, validateLoraConfig, type LoraConfig } from '../engine/lora/lora-config';
import type { ModelConfig } from '../engine/model/config';
import type { LoopConfig } from '../engine/train/train-loop';
import { validateSchedule, type SchedulerName } from '../engine/train/schedule';
import type { DatasetSummary } from '../worker/protocol-datasets';
import type { LoadedModelInfo } from '../worker/protocol';
import type { ModelRef, RunSettings, StoredRunEvalSuite } from '../storage/records';
import { datasetMismatch } from '../worker/run-method';
import { grpoEvalPrompts } from '../worker/run-grpo-eval';
import { runSuitesProblem } from '../worker/run-suite-limits';
import { defaultLearningRate, defaultValues, heldOutCount, isPreferenceMethod, stepsForEpochs, type TrainMethod, type TrainValues } from './train-defaults';
import type { TrainShape } from './train-memory';
import { GrpoForm } from './train-grpo.svelte';
import { PreferenceForm } from './train-preference.svelte';
import type { StartAdapter } from './train-start-adapters';

export type { TrainMethod };

/** Each method with one sentence on the data it needs and what it does. */
export const TRAIN_METHODS: readonly { method: TrainMethod; label: string; available: boolean; note: string }[] = [
  { method: 'sft', label: 'SFT', available: true, note: 'Prompt → completion or chat examples: the model learns to write the completions.' },
  {
    method: 'dpo',
    label: 'DPO',
    available: true,
    note: 'Preference pairs (prompt, chosen, rejected): makes the chosen answer more likely than the rejected one, measured against a frozen reference.',
  },
  {
    method: 'simpo',
    label: 'SimPO',
    available: true,
    note: 'Preference pairs: like DPO on length-normalised log-probabilities with a target margin, without a reference (less memory).',
  },
  {
    method: 'orpo',
    label: 'ORPO',
    available: true,
    note: 'Preference pairs: SFT on the chosen answers plus an odds-ratio penalty on the rejected ones, in one pass without a reference.',
  },
  {
    method: 'grpo',
    label: 'GRPO',
    available: true,
    note: 'Prompts and reward functions: the model writes several completions per prompt, the rewards score them, and it learns from how each did against its group.',
  },
];

/** The module names offered as LoRA targets: each linear module of one layer once (GPT-2's c_proj by its two paths). */
export function targetChoices(config: Pick<ModelConfig, 'architecture'>): readonly string[] {
  return TARGET_NAMES[config.architecture].filter((name) => !(config.architecture === 'gpt2' && name === 'c_proj'));
}

/** Items of an attached suite scored at each evaluation, by default: enough for a curve, few enough not to slow training. */
export const DEFAULT_RUN_SUITE_ITEMS = 20;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export class TrainForm {
  method = $state<TrainMethod>('sft');
  runName = $state('');
  targets = $state<string[]>([]);
  r = $state(8);
  alpha = $state(16);
  dropout = $state(0);
  useRslora = $state(false);
  lr = $state(2e-4);
  weightDecay = $state(0);
  beta1 = $state(0.9);
  beta2 = $state(0.999);
  eps = $state(1e-8);
  maxGradNorm = $state(1);
  scheduler = $state<SchedulerName>('linear');
  warmupSteps = $state(0);
  batchSize = $state(8);
  gradAccum = $state(1);
  maxLength = $state(512);
  duration = $state<'steps' | 'epochs'>('epochs');
  steps = $state(100);
  epochs = $state(1);
  evalEvery = $state(10);
  checkpointEvery = $state(20);
  seed = $state(0);
  completionOnly = $state(true);
  readonly preference = new PreferenceForm();
  readonly grpo = new GrpoForm();
  /** The saved adapter the run starts from (its LoRA settings replace the form's); null: a fresh adapter. */
  startFrom = $state.raw<StartAdapter | null>(null);
  /** Eval suites scored at each evaluation (task metrics beside the loss) and against the base at the end. */
  suites = $state.raw<StoredRunEvalSuite[]>([]);

  /** The model the defaults were taken from (a new model resets them), and its size. */
  private defaultsFor: string | null = null;
  private parameters = 0;

  /** Takes the defaults of a newly loaded model; keeps the user's values while the same model stays loaded. */
  applyModel(model: LoadedModelInfo): void {
    const key = `${model.source}|${model.parameters}`;
    if (this.defaultsFor === key) return;
    this.defaultsFor = key;
    this.parameters = model.parameters;
    const values = defaultValues(model.config, model.parameters);
    this.set({ ...values, lr: defaultLearningRate(model.parameters, this.method) });
    this.preference.reset(values.maxLength);
    this.grpo.reset(values.maxLength);
    this.startFrom = null;
  }

  /** Switches the method; a learning rate still at the old method's default takes the new one's. */
  setMethod(method: TrainMethod): void {
    if (this.parameters > 0 && this.lr === defaultLearningRate(this.parameters, this.method)) this.lr = defaultLearningRate(this.parameters, method);
    this.method = method;
  }

  set(v: TrainValues): void {
    this.targets = [...v.targets];
    this.r = v.r;
    this.alpha = v.alpha;
    this.dropout = v.dropout;
    this.useRslora = v.useRslora;
    this.lr = v.lr;
    this.weightDecay = v.weightDecay;
    this.beta1 = v.beta1;
    this.beta2 = v.beta2;
    this.eps = v.eps;
    this.maxGradNorm = v.maxGradNorm;
    this.scheduler = v.scheduler;
    this.warmupSteps = v.warmupSteps;
    this.batchSize = v.batchSize;
    this.gradAccum = v.gradAccum;
    this.maxLength = v.maxLength;
    this.duration = v.duration;
    this.steps = v.steps;
    this.epochs = v.epochs;
    this.evalEvery = v.evalEvery;
    this.checkpointEvery = v.checkpointEvery;
    this.seed = v.seed;
    this.completionOnly = v.completionOnly;
  }

  /** Checks "all-linear" alone, or toggles one module name (leaving all-linear). */
  toggleTarget(name: string, on: boolean): void {
    if (name === 'all-linear') {
      this.targets = on ? ['all-linear'] : [];
      return;
    }
    const rest = this.targets.filter((t) => t !== name && t !== 'all-linear');
    this.targets = on ? [...rest, name] : rest;
  }

  /** Attaches a saved suite (its first `limit` items scored at each evaluation), or detaches it. */
  toggleSuite(suite: { id: string; name: string; items: number }, on: boolean): void {
    const rest = this.suites.filter((s) => s.id !== suite.id);
    this.suites = on ? [...rest, { id: suite.id, name: suite.name, limit: Math.min(DEFAULT_RUN_SUITE_ITEMS, suite.items) }] : rest;
  }

  setSuiteLimit(id: string, limit: number): void {
    this.suites = this.suites.map((s) => (s.id === id ? { ...s, limit } : s));
  }

  /** Training examples of `dataset` (its split applied). */
  trainExamples(dataset: DatasetSummary): number {
    return dataset.examples - heldOutCount(dataset.examples, dataset.split.evalFraction);
  }

  /**
   * Optimizer steps of the run (epochs turned into steps for `dataset`); null while a field is unusable.
   * GRPO: a step trains batch x accumulation completions, G per prompt, and each generation num_iterations steps.
   */
  totalSteps(dataset: DatasetSummary | null): number | null {
    if (this.duration === 'steps') return isInt(this.steps) && this.steps >= 1 ? this.steps : null;
    if (!dataset || !isNum(this.epochs) || this.epochs <= 0 || !isInt(this.batchSize) || this.batchSize < 1) return null;
    if (!isInt(this.gradAccum) || this.gradAccum < 1) return null;
    let items = this.trainExamples(dataset);
    if (this.method === 'grpo') {
      const { numGenerations: G, numIterations: mu } = this.grpo;
      if (!isInt(G) || G < 1 || !isInt(mu) || mu < 1) return null;
      items *= G * mu;
    }
    return stepsForEpochs(this.epochs, items, this.batchSize, this.gradAccum);
  }

  /** The run's LoRA: the starting adapter's (with this form's dropout), or the form's. */
  lora(): LoraConfig {
    const from = this.startFrom?.lora;
    if (from) return { ...from, targets: [...from.targets], dropout: this.dropout };
    return { r: this.r, alpha: this.alpha, dropout: this.dropout, targets: [...this.targets], useRslora: this.useRslora };
  }

  /**
   * What the memory estimate reads of these settings; null while a field it needs is unusable. GRPO samples a
   * generation's batch x accumulation completions together, and each evaluation its held-out prompts' (of
   * `dataset`), whichever holds more KV caches.
   */
  memoryShape(dataset: DatasetSummary | null = null): TrainShape | null {
    const lora = this.lora();
    const usable = [this.maxLength, this.batchSize, lora.r].every((v) => isInt(v) && v >= 1) && lora.targets.length > 0;
    if (!usable) return null;
    const from = this.startFrom?.lora;
    return {
      seqLen: this.maxLength,
      batch: this.batchSize,
      rank: lora.r,
      targets: lora.targets,
      method: this.method,
      precomputeRef: this.preference.precomputeRef,
      referenceLora: from && { rank: from.r, targets: from.targets },
      ...(this.method === 'grpo' && { rolloutSequences: this.rolloutSequences(dataset) }),
    };
  }

  /** GRPO: the most completions sampled at once, by a training generation or an evaluation. */
  private rolloutSequences(dataset: DatasetSummary | null): number | undefined {
    const { numGenerations: G } = this.grpo;
    if (!isInt(this.gradAccum) || this.gradAccum < 1 || !isInt(G) || G < 1) return undefined;
    const generation = this.batchSize * this.gradAccum;
    const heldOut = dataset && this.evalEvery > 0 ? heldOutCount(dataset.examples, dataset.split.evalFraction) : 0;
    return Math.max(generation, grpoEvalPrompts(heldOut, G, generation) * G);
  }

  /** What is wrong with the settings for `model` and `dataset` (the first problem, naming its field), or null. */
  problem(model: LoadedModelInfo, dataset: DatasetSummary | null): string | null {
    const method = this.method;
    if (!dataset) return 'Choose a dataset (import one on the Data page).';
    const mismatch = datasetMismatch(dataset, method);
    if (mismatch) return `${mismatch} Choose another dataset or method.`;
    if (this.targets.length === 0 && !this.startFrom) return 'LoRA targets: choose at least one module, or all linear layers.';
    try {
      validateLoraConfig(this.lora(), model.config.architecture);
    } catch (err) {
      return `LoRA: ${(err as Error).message}.`;
    }
    const checks: [boolean, string][] = [
      [isNum(this.beta1) && this.beta1 >= 0 && this.beta1 < 1, 'Beta 1 must be at least 0 and below 1.'],
      [isNum(this.beta2) && this.beta2 >= 0 && this.beta2 < 1, 'Beta 2 must be at least 0 and below 1.'],
      [isNum(this.eps) && this.eps > 0, 'Epsilon must be above 0.'],
      [isNum(this.weightDecay) && this.weightDecay >= 0, 'Weight decay must be 0 or more.'],
      [isNum(this.maxGradNorm) && this.maxGradNorm >= 0, 'Max grad norm must be 0 (no clipping) or more.'],
      [isInt(this.batchSize) && this.batchSize >= 1, 'Batch size must be a whole number of at least 1.'],
      [isInt(this.gradAccum) && this.gradAccum >= 1, 'Gradient accumulation must be a whole number of at least 1.'],
      [
        isInt(this.maxLength) && this.maxLength >= 2 && this.maxLength <= model.config.maxPositions,
        `Max length must be a whole number from 2 to the model's context (${model.config.maxPositions}).`,
      ],
      [this.duration === 'steps' || (isNum(this.epochs) && this.epochs > 0), 'Epochs must be above 0.'],
      [this.duration === 'epochs' || (isInt(this.steps) && this.steps >= 1), 'Steps must be a whole number of at least 1.'],
      [isInt(this.evalEvery) && this.evalEvery >= 0, 'Eval every must be a whole number of steps (0: never).'],
      [isInt(this.checkpointEvery) && this.checkpointEvery >= 0, 'Checkpoint every must be a whole number of steps (0: only at the end).'],
      [isInt(this.seed) && this.seed >= 0 && this.seed <= 0xffffffff, 'The seed must be a whole number from 0 to 4294967295.'],
    ];
    const suites = runSuitesProblem(this.suites);
    if (suites) checks.push([false, suites]);
    const failed = checks.find(([ok]) => !ok);
    if (failed) return failed[1];
    const preference = isPreferenceMethod(method) ? this.preference.problem(method, this.maxLength) : null;
    if (preference) return preference;
    const grpo = method === 'grpo' ? this.grpo.problem({ batchSize: this.batchSize, gradAccum: this.gradAccum, maxLength: this.maxLength }) : null;
    if (grpo) return grpo;
    const steps = this.totalSteps(dataset);
    if (steps === null) return 'The run length cannot be computed from these settings.';
    if (!isNum(this.lr)) return 'The learning rate must be a number above 0.';
    try {
      validateSchedule({ name: this.scheduler, lr: this.lr, warmupSteps: this.warmupSteps, totalSteps: steps });
    } catch (err) {
      return `Schedule: ${(err as Error).message}.`;
    }
    if (this.trainExamples(dataset) < 1) return `The dataset "${dataset.name}" has no training examples after its split.`;
    return null;
  }

  loop(totalSteps: number): LoopConfig {
    return {
      batchSize: this.batchSize,
      gradAccum: this.gradAccum,
      steps: totalSteps,
      lr: this.lr,
      scheduler: this.scheduler,
      warmupSteps: this.warmupSteps,
      maxGradNorm: this.maxGradNorm,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      evalEvery: this.evalEvery,
      saveEvery: this.checkpointEvery,
      seed: this.seed,
    };
  }

  /** The run's settings; call after problem() returned null. */
  settings(model: LoadedModelInfo, ref: ModelRef, dataset: DatasetSummary): RunSettings {
    const steps = this.totalSteps(dataset);
    const method = this.method;
    if (steps === null) throw new Error('the run length is not set');
    return {
      method,
      model: ref,
      modelName: model.source,
      weightFormat: model.weightFormat,
      datasetId: dataset.id,
      datasetName: dataset.name,
      lora: this.lora(),
      loop: this.loop(steps),
      maxLength: this.maxLength,
      completionOnly: this.completionOnly,
      checkpointEvery: this.checkpointEvery,
      ...(isPreferenceMethod(method) && { preference: this.preference.settings(method) }),
      ...(method === 'grpo' && { grpo: this.grpo.settings() }),
      ...(this.startFrom && { initAdapter: { id: this.startFrom.id, name: this.startFrom.name } }),
      ...(this.suites.length > 0 && { evalSuites: this.suites.map((s) => ({ ...s })) }),
    };
  }
}
