// A stored run as a TRL project spec (src/engine/export/trl): its settings map field for field (storage's
// records mirror the engine's LoraConfig, LoopConfig and GRPO settings), its records are the saved dataset's
// examples split as the run's settings say, the same split the run trained on.

import { BUILTIN_REWARD_KINDS, type RewardKind } from '../engine/train/grpo/rewards/reward-types';
import { PREFERENCE_DEFAULTS } from '../engine/train/objectives/preference-config';
import { DEFAULT_MAX_PROMPT_LENGTH } from '../engine/data/tokenize-preference';
import type { TrlBaseModel, TrlGrpoSettings, TrlProjectSpec, TrlRecords } from '../engine/export/trl/trl-spec';
import type { DatasetRecord, ModelRef, RunSettings, StoredGrpoSettings } from '../storage/records';
import { engineDataset } from './dataset-records';
import { runSplit, splitDataset } from './dataset-split';
import { datasetMismatch } from './run-method';

const REWARD_KINDS: readonly string[] = [...BUILTIN_REWARD_KINDS, 'custom'];

function baseModel(ref: ModelRef, name: string): TrlBaseModel {
  switch (ref.kind) {
    case 'hub':
      return { id: ref.id, revision: ref.revision, isLocal: false };
    case 'offline':
      return { id: ref.id, isLocal: true };
    case 'files':
      return { id: ref.source, isLocal: true };
    case 'demo':
      throw new Error(`The run trained the built-in demo model (${name}), which exists only inside Tunelab: a TRL project needs a Hugging Face model.`);
  }
}

function grpoSettings(g: StoredGrpoSettings): TrlGrpoSettings {
  return {
    numGenerations: g.numGenerations,
    maxCompletionLength: g.maxCompletionLength,
    temperature: g.temperature,
    topP: g.topP,
    topK: g.topK,
    stopStrings: [...g.stopStrings],
    beta: g.beta,
    numIterations: g.numIterations,
    epsilon: g.epsilon,
    epsilonHigh: g.epsilonHigh,
    lossType: g.lossType,
    scaleRewards: g.scaleRewards,
    maskTruncatedCompletions: g.maskTruncatedCompletions,
    rewards: g.rewards.map((r) => {
      if (!REWARD_KINDS.includes(r.kind)) throw new Error(`The run's reward "${r.name}" has a kind this version does not know ("${r.kind}").`);
      return { kind: r.kind as RewardKind, name: r.name, weight: r.weight, ...(r.arg !== undefined ? { arg: r.arg } : {}) };
    }),
    rewardTimeLimitMs: g.rewardTimeLimitMs,
  };
}

/** The saved dataset's examples for the run's method, split as the run's were. */
function records(settings: RunSettings, dataset: DatasetRecord): TrlRecords {
  const mismatch = datasetMismatch(dataset, settings.method);
  if (mismatch) throw new Error(mismatch);
  const engine = engineDataset(dataset);
  const split = <T>(examples: readonly T[]) => splitDataset({ examples, split: runSplit(settings, dataset) });
  if (engine.method === 'sft') return { family: 'sft', ...split(engine.dataset.examples) };
  if (engine.method === 'dpo') return { family: 'preference', ...split(engine.dataset.examples) };
  return { family: 'prompts', ...split(engine.dataset.examples) };
}

/** A stored run (its settings and the dataset it trained on) as a TRL project spec. */
export function trlSpecFromRunSettings(settings: RunSettings, dataset: DatasetRecord, runName: string): TrlProjectSpec {
  const notes: string[] = [];
  if (settings.initAdapter) {
    notes.push(`The run started from the saved adapter "${settings.initAdapter.name}"; train.py trains a fresh adapter from the base model.`);
  }
  const preference = settings.method === 'sft' || settings.method === 'grpo' ? undefined : (settings.preference ?? { ...PREFERENCE_DEFAULTS, maxPromptLength: DEFAULT_MAX_PROMPT_LENGTH, precomputeRef: false });
  if (settings.method === 'grpo' && !settings.grpo) throw new Error(`The run "${runName}" is a GRPO run without its GRPO settings.`);
  return {
    method: settings.method,
    source: `the studio's run "${runName}"`,
    datasetName: dataset.name,
    model: baseModel(settings.model, settings.modelName),
    lora: { ...settings.lora, targets: [...settings.lora.targets] },
    loop: { ...settings.loop },
    maxLength: settings.maxLength,
    completionOnly: settings.completionOnly,
    preference: preference && { ...preference },
    grpo: settings.grpo && grpoSettings(settings.grpo),
    records: records(settings, dataset),
    notes,
  };
}
