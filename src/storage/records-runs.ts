// Training runs as IndexedDB holds them (schema v4; GRPO added optional fields only, no migration): settings, status, metric rows, checkpoints and the
// frozen reference adapter of a run that began from a saved one. Storage owns these shapes; where they
// mirror engine types (LoraConfig, LoopConfig, StepMetrics, EvalMetrics) they match field for field
// without importing them, so an engine change fails to compile at the worker's mapping instead.

import type { StoredComparison, StoredSuiteScores } from './records-eval-results';

/** What a run trains with. */
export type StoredTrainingMethod = 'sft' | 'dpo' | 'simpo' | 'orpo' | 'grpo';

/** Where the run's base model came from, so a resumed run (after a reload) can load it again. */
export type ModelRef =
  | { kind: 'hub'; id: string; revision: string; endpoint: string }
  | { kind: 'offline'; id: string }
  /** Files the user picked: they cannot be read again after a reload, so resuming needs them loaded first. */
  | { kind: 'files'; source: string }
  | { kind: 'demo' };

export type RunStatus = 'running' | 'paused' | 'interrupted' | 'completed' | 'stopped' | 'failed';

/** Mirror of LoraConfig (src/engine/lora/lora-config.ts). */
export interface StoredLoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  /** Module names as PEFT's target_modules, or ['all-linear']. */
  targets: string[];
  useRslora: boolean;
}

/** Mirror of LoopConfig (src/engine/train/train-loop.ts): the optimisation loop of any method. */
export interface StoredLoopConfig {
  batchSize: number;
  gradAccum: number;
  steps: number;
  lr: number;
  scheduler: 'constant' | 'linear' | 'cosine';
  warmupSteps: number;
  maxGradNorm: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  evalEvery: number;
  saveEvery: number;
  seed: number;
}

/** The objective's settings of a DPO-family run. */
export interface StoredPreferenceSettings {
  beta: number;
  lossType: 'sigmoid' | 'ipo' | 'hinge' | 'robust';
  labelSmoothing: number;
  simpoGamma: number;
  orpoLambda: number;
  maxPromptLength: number;
  precomputeRef: boolean;
}

/** One reward function of a GRPO run (mirror of RewardSpec, src/engine/train/grpo/rewards/reward-types.ts). */
export interface StoredRewardSpec {
  /** 'answer-match', 'format', 'regex', 'contains', 'not-contains', 'length', 'json' or 'custom'. */
  kind: string;
  /** Shown name and metric key (rewards/<name>/mean). */
  name: string;
  weight: number;
  /** The kind's argument; custom: the JavaScript source of `(completion, example) => number`. */
  arg?: string;
}

/** The objective's and the sampler's settings of a GRPO run (mirror of GrpoConfig; TRL's GRPOConfig names). */
export interface StoredGrpoSettings {
  /** num_generations: completions per prompt. */
  numGenerations: number;
  maxCompletionLength: number;
  temperature: number;
  topP: number;
  /** 0: off. */
  topK: number;
  stopStrings: string[];
  /** KL coefficient (0: no KL term, no reference). */
  beta: number;
  numIterations: number;
  epsilon: number;
  epsilonHigh: number;
  lossType: 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';
  scaleRewards: 'group' | 'batch' | 'none';
  maskTruncatedCompletions: boolean;
  rewards: StoredRewardSpec[];
  /** Per call of a custom reward, in ms. */
  rewardTimeLimitMs: number;
}

/** One scored completion of a GRPO generation (mirror of RolloutRow; texts cut for storage). */
export interface StoredRolloutRow {
  /** The prompt's index in the generation batch. */
  group: number;
  prompt: string;
  completion: string;
  /** Completion tokens. */
  tokens: number;
  truncated: boolean;
  /** Weighted sum over the reward functions. */
  reward: number;
  /** Per reward function, by name. */
  rewards: Record<string, number>;
  advantage: number;
}

/** A reward call that failed: the completion got 0 from that function. */
export interface StoredRewardFailure {
  name: string;
  group: number;
  completion: number;
  message: string;
}

/** A GRPO generation's scored completions as kept and shown: the first rows and failures, and their counts. */
export interface StoredRollouts {
  /** The optimizer step the completions train first (held-out: the step evaluated). */
  step: number;
  /** Generation batch index (-1: held-out prompts). */
  generation: number;
  /** The reward functions' names, in the run's order. */
  names: string[];
  rows: StoredRolloutRow[];
  /** Completions in the generation (rows may keep fewer). */
  totalRows: number;
  /** Mean total reward over every completion of the generation. */
  meanReward: number;
  failures: StoredRewardFailure[];
  /** Failed reward calls in the generation (failures may keep fewer). */
  failureCount: number;
  /** Generated tokens per second of the sampling. */
  tokensPerSecond: number;
}

export interface RunSettings {
  method: StoredTrainingMethod;
  model: ModelRef;
  /** Display name of the model (its id). */
  modelName: string;
  weightFormat: 'f16' | 'f32';
  datasetId: string;
  datasetName: string;
  /**
   * The dataset's train/eval split when the run started (held-out fraction and seed): a resume trains on the
   * same examples and holds out the same ones even if the dataset's split was changed since. Absent in runs
   * saved before runs kept their split: they read the dataset's, which cannot change while one may resume.
   */
  split?: { evalFraction: number; seed: number };
  lora: StoredLoraConfig;
  loop: StoredLoopConfig;
  maxLength: number;
  completionOnly: boolean;
  /** Checkpoint to IndexedDB every this many steps. */
  checkpointEvery: number;
  /** DPO family only. */
  preference?: StoredPreferenceSettings;
  /** GRPO only. maxLength then bounds prompt + completion. */
  grpo?: StoredGrpoSettings;
  /**
   * The saved adapter the run started from (DPO after SFT); its weights are kept in the 'references' store
   * so deleting the adapter never breaks the run.
   */
  initAdapter?: { id: string; name: string };
  /** Eval suites scored at each evaluation of the run (task metrics beside the loss), and against the base at its end. */
  evalSuites?: StoredRunEvalSuite[];
}

/** An eval suite attached to a run: the stored suite and how many of its items each evaluation scores. */
export interface StoredRunEvalSuite {
  id: string;
  name: string;
  limit: number;
}

/** One attached suite's scores at one evaluation (mirror of SuiteResult's identity and scores). */
export interface StoredRunSuiteScores {
  suiteId: string;
  suiteName: string;
  /** lm-evaluation-harness's "metric,filter" keys. */
  scores: StoredSuiteScores;
}

/** The run's last evaluation of its attached suites against the base model, made when the run completed. */
export interface StoredRunSuiteComparison {
  /** The step whose adapter was compared. */
  step: number;
  comparedAt: string;
  base: StoredRunSuiteScores[];
  adapted: StoredRunSuiteScores[];
  comparisons: StoredComparison[];
  /** The retention suites' change from the base. */
  forgetting: StoredComparison[];
  /** Why the comparison is missing or partial (it never fails the run). */
  message?: string;
}

export interface RunRecord {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  settings: RunSettings;
  /** Last step whose metrics are stored. */
  step: number;
  /** Step of the stored checkpoint (0: none yet). */
  checkpointStep: number;
  /** Why it failed or was interrupted, for the page. */
  message?: string;
  /** The adapter saved from this run, once saved. */
  adapterId?: string;
  /** The attached suites' last evaluation against the base (runs that completed with suites attached). */
  suiteComparison?: StoredRunSuiteComparison;
  /** GRPO: the latest generation's scored completions. */
  rollouts?: StoredRollouts;
}

/**
 * One row of a run's curves: a training step or an evaluation (with sample generations). `objective` holds
 * the objective's own metrics under TRL's names (DPO: 'rewards/chosen', 'rewards/margins', ...; GRPO:
 * 'reward', 'rewards/<name>/mean', 'completions/mean_length', 'kl', 'entropy', 'clip_ratio/region_mean', ...;
 * evaluation rows prefix them with 'eval_').
 */
export type MetricRow =
  | {
      runId: string;
      kind: 'step';
      step: number;
      loss: number;
      lr: number;
      grad_norm: number;
      /** Tokens (input positions) processed by this step. */
      tokens: number;
      trained_tokens: number;
      tokens_per_s: number;
      /** Fractional epoch reached. */
      epoch: number;
      objective?: Record<string, number>;
    }
  | {
      runId: string;
      kind: 'eval';
      step: number;
      eval_loss: number;
      /** SFT only. */
      eval_perplexity?: number;
      eval_tokens: number;
      objective?: Record<string, number>;
      samples: { prompt: string; text: string }[];
      /** The attached eval suites' scores at this evaluation. */
      suites?: StoredRunSuiteScores[];
      /** GRPO: completions sampled from the held-out prompts at this evaluation, with their rewards. */
      rollouts?: StoredRollouts;
    };

/** Key [runId, step] (schema v6): a run keeps its newest two (runs-store.ts KEPT_CHECKPOINTS). */
export interface CheckpointRecord {
  runId: string;
  step: number;
  /** checkpointBytes() of src/engine/train/checkpoint.ts. */
  bytes: Uint8Array;
  savedAt: string;
}

/** The frozen starting adapter of a run that began from a saved adapter (its DPO reference), key runId. */
export interface ReferenceRecord {
  runId: string;
  adapterName: string;
  /** adapter_config.json. */
  config: Record<string, unknown>;
  /** adapter_model.safetensors. */
  weights: Uint8Array;
}
