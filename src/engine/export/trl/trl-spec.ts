// What a TRL project export is made from: a Tunelab run's method, base model, LoRA and loop settings, the
// objective's settings and its normalised records (the engine's SFT examples, preference pairs or GRPO
// prompts). The CLI builds it from a `tunelab train --out DIR` folder (src/cli/export-trl.ts), the worker from
// a stored run (src/worker/trl-export-spec.ts); trlProjectFiles turns it into the project's files.

import type { PreferenceRecord } from '../../data/preference-examples';
import type { PromptRecord } from '../../data/prompt-examples';
import type { SftRecord } from '../../data/sft-examples';
import type { LoraConfig } from '../../lora/lora-config';
import type { GrpoConfig } from '../../train/grpo/grpo-config';
import type { RewardKind } from '../../train/grpo/rewards/reward-types';
import type { DpoLossType } from '../../train/objectives/preference-config';
import type { LoopConfig } from '../../train/train-loop';

/**
 * The TRL release the generated train.py is written against: the version of the snapshot whose config
 * classes were read (trl/trainer/*_config.py, trl/experimental/{cpo,orpo}; VERSION file of
 * huggingface/trl at f2cd577, July 2026).
 */
export const TRL_VERSION = '1.10.0.dev0';

export const TRL_METHODS = ['sft', 'dpo', 'simpo', 'orpo', 'grpo'] as const;
export type TrlMethod = (typeof TRL_METHODS)[number];

/** How Tunelab names each method. */
export const METHOD_TITLES: Record<TrlMethod, string> = { sft: 'SFT', dpo: 'DPO', simpo: 'SimPO', orpo: 'ORPO', grpo: 'GRPO' };

export interface TrlBaseModel {
  /** A Hub id ("HuggingFaceTB/SmolLM2-135M-Instruct") or the local path the run loaded. */
  id: string;
  revision?: string;
  /** True when `id` is a path or a name only meaningful on the machine that trained (the README says to replace it). */
  isLocal: boolean;
}

export interface TrlPreferenceSettings {
  beta: number;
  lossType: DpoLossType;
  labelSmoothing: number;
  simpoGamma: number;
  orpoLambda: number;
  /** Tunelab keeps a prompt's last N tokens; TRL 1.10's DPO/CPO/ORPO configs have no such field. */
  maxPromptLength: number;
  precomputeRef: boolean;
}

/** One reward function, as RewardSpec (src/engine/train/grpo/rewards/reward-types.ts). */
export interface TrlRewardSpec {
  kind: RewardKind;
  name: string;
  weight: number;
  /** The kind's argument; custom: a JavaScript expression whose value is `(completion, example) => number`. */
  arg?: string;
}

/** The engine's GRPO settings (numGenerationsEval optional: default numGenerations) and the run's rewards. */
export interface TrlGrpoSettings extends Omit<GrpoConfig, 'numGenerationsEval'> {
  numGenerationsEval?: number;
  rewards: TrlRewardSpec[];
  /** Per call of a custom (JavaScript) reward. */
  rewardTimeLimitMs: number;
}

/** The run's records, normalised by the engine (line numbers kept for messages). */
export type TrlRecords =
  | { family: 'sft'; train: SftRecord[]; eval: SftRecord[] }
  | { family: 'preference'; train: PreferenceRecord[]; eval: PreferenceRecord[] }
  | { family: 'prompts'; train: PromptRecord[]; eval: PromptRecord[] };

export interface TrlProjectSpec {
  method: TrlMethod;
  /** Where the run came from, for the README ("tunelab train --out runs/sft-1", "studio run 'SFT 3'"). */
  source: string;
  /** The dataset's name or file, for the README. */
  datasetName: string;
  model: TrlBaseModel;
  lora: LoraConfig;
  loop: LoopConfig;
  /** Tokens per sequence (SFT: prompt + completion; preference: prompt + answer). GRPO: prompt + completion in Tunelab. */
  maxLength?: number;
  /** SFT: loss on the completion only for prompt-completion data (TRL's completion_only_loss). */
  completionOnly: boolean;
  preference?: TrlPreferenceSettings;
  grpo?: TrlGrpoSettings;
  records: TrlRecords;
  /** Ways the exported project cannot follow the run exactly (listed in the README). */
  notes: string[];
}

/** A spec that cannot become a TRL project, with the field or record to blame. */
export class TrlExportError extends Error {
  override readonly name = 'TrlExportError';
}

const FAMILY: Record<TrlMethod, TrlRecords['family']> = { sft: 'sft', dpo: 'preference', simpo: 'preference', orpo: 'preference', grpo: 'prompts' };

/** Refuses a spec whose parts do not fit its method, naming the field. */
export function validateTrlSpec(spec: TrlProjectSpec): void {
  const fail = (message: string): never => {
    throw new TrlExportError(message);
  };
  if (!(spec.method in FAMILY)) fail(`method "${String(spec.method)}" cannot be exported to TRL (sft, dpo, simpo, orpo, grpo)`);
  if (spec.records.family !== FAMILY[spec.method]) fail(`a ${spec.method} run needs ${FAMILY[spec.method]} records, got ${spec.records.family}`);
  if (spec.records.train.length === 0) fail('the run has no training records to export');
  if (spec.model.id.trim() === '') fail('the base model has no id or path');
  const { loop } = spec;
  for (const [name, value] of Object.entries(loop)) {
    if (typeof value === 'number' && !Number.isFinite(value)) fail(`loop.${name} is not a finite number (${value})`);
  }
  if (!(Number.isInteger(loop.batchSize) && loop.batchSize >= 1)) fail(`loop.batchSize must be a positive integer, got ${loop.batchSize}`);
  if (!(Number.isInteger(loop.gradAccum) && loop.gradAccum >= 1)) fail(`loop.gradAccum must be a positive integer, got ${loop.gradAccum}`);
  if (!(Number.isInteger(loop.steps) && loop.steps >= 1)) fail(`loop.steps must be a positive integer, got ${loop.steps}`);
  if (spec.method !== 'grpo' && !(Number.isInteger(spec.maxLength) && spec.maxLength! >= 2)) fail(`maxLength must be an integer >= 2 for ${spec.method}, got ${spec.maxLength}`);
  if (spec.method !== 'sft' && spec.method !== 'grpo' && !spec.preference) fail(`a ${spec.method} run needs its preference settings`);
  if (spec.method === 'grpo') {
    const g = spec.grpo ?? fail('a grpo run needs its GRPO settings');
    if (g.rewards.length === 0) fail('a grpo run needs at least one reward function');
    const names = new Set<string>();
    g.rewards.forEach((r, i) => {
      if (typeof r.name !== 'string' || r.name.trim() === '') fail(`reward ${i + 1} has no name`);
      if (names.has(r.name)) fail(`two rewards are named "${r.name}": TRL logs each reward under its name`);
      names.add(r.name);
      if (!Number.isFinite(r.weight)) fail(`reward "${r.name}": the weight must be a finite number, got ${r.weight}`);
    });
    const completions = loop.batchSize * loop.gradAccum;
    if (completions % g.numGenerations !== 0) {
      fail(`loop.batchSize x loop.gradAccum (${loop.batchSize} x ${loop.gradAccum} = ${completions} completions) must be a multiple of numGenerations (${g.numGenerations})`);
    }
  }
}
