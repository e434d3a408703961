// The Train page's GRPO fields with TRL's GRPOConfig names and defaults (src/engine/train/grpo/grpo-config.ts):
// num_generations 8, max_completion_length 512 (at most half the max length here, so the prompt keeps the
// other half), temperature 1, top_p 1, top_k 0 (off), beta 0 (no KL term, no reference), epsilon 0.2,
// epsilon_high = epsilon, num_iterations 1, loss_type "dapo", scale_rewards "group",
// mask_truncated_completions false; stop strings; the reward list (train-grpo-rewards.ts) and the custom
// rewards' time limit per call. A check names the first bad field by TRL's name.

import { GRPO_DEFAULTS, grpoConfig, type GrpoLossType, type ScaleRewards } from '../engine/train/grpo/grpo-config';
import { DEFAULT_REWARD_TIME_LIMIT_MS, type RewardKind } from '../engine/train/grpo/rewards';
import type { StoredGrpoSettings } from '../storage/records';
import { freeRewardName, rewardKindInfo, rewardSpecs, rewardsProblem, type RewardDraft } from './train-grpo-rewards';

export const GRPO_LOSS_NOTES: Record<GrpoLossType, string> = {
  dapo: 'dapo: token terms summed over the whole accumulated batch and divided by its completion tokens',
  grpo: 'grpo: each completion’s tokens averaged, then the completions (the GRPO paper; favours short completions)',
  bnpo: 'bnpo: token terms summed over each micro-batch and divided by its completion tokens',
  dr_grpo: 'dr_grpo: token terms summed and divided by completions × max completion length (Dr. GRPO, no length bias)',
};

export const SCALE_REWARDS_NOTES: Record<ScaleRewards, string> = {
  group: 'group: (r − group mean) / (group std + 1e-4)',
  batch: 'batch: (r − group mean) / (std over the whole batch + 1e-4)',
  none: 'none: r − group mean (Dr. GRPO)',
};

/** Most stop strings. */
const MAX_STOP_STRINGS = 8;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The default max completion length for a max length: TRL's 512, or half the max length when that is less. */
export function defaultMaxCompletionLength(maxLength: number): number {
  return Math.max(1, Math.min(GRPO_DEFAULTS.maxCompletionLength, Math.floor(maxLength / 2)));
}

export class GrpoForm {
  numGenerations = $state(GRPO_DEFAULTS.numGenerations);
  maxCompletionLength = $state(GRPO_DEFAULTS.maxCompletionLength);
  temperature = $state(GRPO_DEFAULTS.temperature);
  topP = $state(GRPO_DEFAULTS.topP);
  topK = $state(GRPO_DEFAULTS.topK);
  /** One stop string per line. */
  stopText = $state('');
  beta = $state(GRPO_DEFAULTS.beta);
  epsilon = $state(GRPO_DEFAULTS.epsilon);
  /** null (an empty field): the same as epsilon, as TRL. */
  epsilonHigh = $state<number | null>(null);
  numIterations = $state(GRPO_DEFAULTS.numIterations);
  lossType = $state<GrpoLossType>(GRPO_DEFAULTS.lossType);
  scaleRewards = $state<ScaleRewards>(GRPO_DEFAULTS.scaleRewards);
  maskTruncatedCompletions = $state(GRPO_DEFAULTS.maskTruncatedCompletions);
  rewards = $state<RewardDraft[]>([]);
  rewardTimeLimitMs = $state(DEFAULT_REWARD_TIME_LIMIT_MS);
  private nextRewardId = 1;

  /** TRL's defaults (the completion length fitted to `maxLength`); the reward list is kept. */
  reset(maxLength: number): void {
    this.numGenerations = GRPO_DEFAULTS.numGenerations;
    this.maxCompletionLength = defaultMaxCompletionLength(maxLength);
    this.temperature = GRPO_DEFAULTS.temperature;
    this.topP = GRPO_DEFAULTS.topP;
    this.topK = GRPO_DEFAULTS.topK;
    this.stopText = '';
    this.beta = GRPO_DEFAULTS.beta;
    this.epsilon = GRPO_DEFAULTS.epsilon;
    this.epsilonHigh = null;
    this.numIterations = GRPO_DEFAULTS.numIterations;
    this.lossType = GRPO_DEFAULTS.lossType;
    this.scaleRewards = GRPO_DEFAULTS.scaleRewards;
    this.maskTruncatedCompletions = GRPO_DEFAULTS.maskTruncatedCompletions;
    this.rewardTimeLimitMs = DEFAULT_REWARD_TIME_LIMIT_MS;
  }

  /** Adds a reward of `kind` with weight 1, a free name and (custom) a starting function to edit. */
  addReward(kind: RewardKind): void {
    const info = rewardKindInfo(kind);
    const name = freeRewardName(kind, this.rewards.map((r) => r.name));
    const arg = kind === 'custom' ? (info?.placeholder ?? '') : '';
    this.rewards = [...this.rewards, { id: this.nextRewardId++, kind, name, weight: 1, arg }];
  }

  removeReward(id: number): void {
    this.rewards = this.rewards.filter((r) => r.id !== id);
  }

  stopStrings(): string[] {
    return this.stopText.split('\n').map((s) => s.replace(/\\n/g, '\n')).filter((s) => s !== '');
  }

  /** What is wrong with the GRPO fields for these loop settings (the first problem, by TRL's name), or null. */
  problem(loop: { batchSize: number; gradAccum: number; maxLength: number }): string | null {
    const rewards = rewardsProblem(this.rewards);
    if (rewards) return rewards;
    try {
      grpoConfig(this.config());
    } catch (err) {
      return `GRPO: ${(err as Error).message}.`;
    }
    if (this.stopStrings().length > MAX_STOP_STRINGS) return `GRPO: at most ${MAX_STOP_STRINGS} stop strings.`;
    if (!(isNum(this.rewardTimeLimitMs) && this.rewardTimeLimitMs >= 10 && this.rewardTimeLimitMs <= 60_000)) {
      return 'The reward time limit must be from 10 to 60000 ms per call.';
    }
    if (Number.isInteger(loop.maxLength) && this.maxCompletionLength >= loop.maxLength) {
      return `max_completion_length (${this.maxCompletionLength}) must be below the max length (${loop.maxLength}), which also holds the prompt.`;
    }
    const completions = loop.batchSize * loop.gradAccum;
    if (Number.isInteger(completions) && completions % this.numGenerations !== 0) {
      return `Batch size × gradient accumulation (${loop.batchSize} × ${loop.gradAccum} = ${completions} completions) must be a multiple of num_generations (${this.numGenerations}): each step trains whole groups.`;
    }
    return null;
  }

  /** The stored settings of a run; call after problem() returned null. */
  settings(): StoredGrpoSettings {
    const c = grpoConfig(this.config());
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
      rewards: rewardSpecs(this.rewards),
      rewardTimeLimitMs: this.rewardTimeLimitMs,
    };
  }

  private config() {
    return {
      numGenerations: this.numGenerations,
      maxCompletionLength: this.maxCompletionLength,
      temperature: this.temperature,
      topP: this.topP,
      topK: this.topK,
      stopStrings: this.stopStrings(),
      beta: this.beta,
      numIterations: this.numIterations,
      epsilon: this.epsilon,
      // An emptied number field reads as null (or undefined): TRL's default, epsilon.
      epsilonHigh: isNum(this.epsilonHigh) ? this.epsilonHigh : undefined,
      lossType: this.lossType,
      scaleRewards: this.scaleRewards,
      maskTruncatedCompletions: this.maskTruncatedCompletions,
    };
  }
}
