// GRPO's Train page values as plain data, with TRL's GRPOConfig defaults (src/engine/train/grpo/grpo-config.ts):
// num_generations 8, max_completion_length 512 (here at most half the max length, so the prompt keeps the
// other half), temperature 1, top_p 1, top_k 0 (off), beta 0 (no KL term, no reference), epsilon 0.2,
// epsilon_high = epsilon, num_iterations 1, loss_type "dapo", scale_rewards "group",
// mask_truncated_completions false; stop strings; the reward list and the custom rewards' time limit per
// call. The check names the first bad field by TRL's name; the stored settings are what the worker takes.

import { GRPO_DEFAULTS, grpoConfig, type GrpoConfig, type GrpoLossType, type ScaleRewards } from '../engine/train/grpo/grpo-config';
import { DEFAULT_REWARD_TIME_LIMIT_MS } from '../engine/train/grpo/rewards';
import type { StoredGrpoSettings } from '../storage/records';
import { rewardSpecs, rewardsProblem, type RewardDraft } from './train-grpo-rewards';

export interface GrpoValues {
  numGenerations: number;
  maxCompletionLength: number;
  temperature: number;
  topP: number;
  topK: number;
  /** One stop string per line ("\n" for a line break inside one). */
  stopText: string;
  beta: number;
  epsilon: number;
  /** null or undefined (an emptied field): the same as epsilon, as TRL. */
  epsilonHigh: number | null | undefined;
  numIterations: number;
  lossType: GrpoLossType;
  scaleRewards: ScaleRewards;
  maskTruncatedCompletions: boolean;
  rewards: RewardDraft[];
  rewardTimeLimitMs: number;
}

export const MAX_STOP_STRINGS = 8;
export const REWARD_TIME_LIMIT_RANGE_MS = [10, 60_000] as const;

/** The default max completion length for a max length: TRL's 512, or half the max length when that is less. */
export function defaultMaxCompletionLength(maxLength: number): number {
  return Math.max(1, Math.min(GRPO_DEFAULTS.maxCompletionLength, Math.floor(maxLength / 2)));
}

/** TRL's defaults for a model whose max length is `maxLength`, with no rewards yet. */
export function defaultGrpoValues(maxLength: number): GrpoValues {
  return {
    numGenerations: GRPO_DEFAULTS.numGenerations,
    maxCompletionLength: defaultMaxCompletionLength(maxLength),
    temperature: GRPO_DEFAULTS.temperature,
    topP: GRPO_DEFAULTS.topP,
    topK: GRPO_DEFAULTS.topK,
    stopText: '',
    beta: GRPO_DEFAULTS.beta,
    epsilon: GRPO_DEFAULTS.epsilon,
    epsilonHigh: null,
    numIterations: GRPO_DEFAULTS.numIterations,
    lossType: GRPO_DEFAULTS.lossType,
    scaleRewards: GRPO_DEFAULTS.scaleRewards,
    maskTruncatedCompletions: GRPO_DEFAULTS.maskTruncatedCompletions,
    rewards: [],
    rewardTimeLimitMs: DEFAULT_REWARD_TIME_LIMIT_MS,
  };
}

export function stopStringsOf(text: string): string[] {
  return text
    .split('\n')
    .map((s) => s.replace(/\\n/g, '\n'))
    .filter((s) => s !== '');
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function configOf(v: GrpoValues): Partial<GrpoConfig> {
  return {
    numGenerations: v.numGenerations,
    maxCompletionLength: v.maxCompletionLength,
    temperature: v.temperature,
    topP: v.topP,
    topK: v.topK,
    stopStrings: stopStringsOf(v.stopText),
    beta: v.beta,
    numIterations: v.numIterations,
    epsilon: v.epsilon,
    epsilonHigh: isNum(v.epsilonHigh) ? v.epsilonHigh : undefined,
    lossType: v.lossType,
    scaleRewards: v.scaleRewards,
    maskTruncatedCompletions: v.maskTruncatedCompletions,
  };
}

/** What is wrong with the GRPO values for these loop settings (the first problem, by TRL's name), or null. */
export function grpoProblem(v: GrpoValues, loop: { batchSize: number; gradAccum: number; maxLength: number }): string | null {
  const rewards = rewardsProblem(v.rewards);
  if (rewards) return rewards;
  try {
    grpoConfig(configOf(v));
  } catch (err) {
    return `GRPO: ${(err as Error).message}.`;
  }
  if (stopStringsOf(v.stopText).length > MAX_STOP_STRINGS) return `GRPO: at most ${MAX_STOP_STRINGS} stop strings.`;
  const [low, high] = REWARD_TIME_LIMIT_RANGE_MS;
  if (!(isNum(v.rewardTimeLimitMs) && v.rewardTimeLimitMs >= low && v.rewardTimeLimitMs <= high)) {
    return `The reward time limit must be from ${low} to ${high} ms per call.`;
  }
  if (Number.isInteger(loop.maxLength) && v.maxCompletionLength >= loop.maxLength) {
    return `max_completion_length (${v.maxCompletionLength}) must be below the max length (${loop.maxLength}), which also holds the prompt.`;
  }
  const completions = loop.batchSize * loop.gradAccum;
  if (Number.isInteger(completions) && completions % v.numGenerations !== 0) {
    return `Batch size × gradient accumulation (${loop.batchSize} × ${loop.gradAccum} = ${completions} completions) must be a multiple of num_generations (${v.numGenerations}): each step trains whole groups.`;
  }
  return null;
}

/** The stored settings of a run; call after grpoProblem returned null. */
export function grpoSettings(v: GrpoValues): StoredGrpoSettings {
  const c = grpoConfig(configOf(v));
  return {
    numGenerations: c.numGenerations,
    maxCompletionLength: c.maxCompletionLength,
    temperature: c.temperature,
    topP: c.topP,
    topK: c.topK,
    stopStrings: c.stopStrings,
    beta: c.beta,
    numIterations: c.numIterations,
    epsilon: c.epsilon,
    epsilonHigh: c.epsilonHigh,
    lossType: c.lossType,
    scaleRewards: c.scaleRewards,
    maskTruncatedCompletions: c.maskTruncatedCompletions,
    rewards: rewardSpecs(v.rewards),
    rewardTimeLimitMs: v.rewardTimeLimitMs,
  };
}
