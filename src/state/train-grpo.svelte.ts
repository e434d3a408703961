// The Train page's GRPO fields (their defaults, check and stored form: train-grpo-values.ts) as state, with
// the reward list's add and remove.

import type { GrpoLossType, ScaleRewards } from '../engine/train/grpo/grpo-config';
import type { RewardKind } from '../engine/train/grpo/rewards';
import type { StoredGrpoSettings } from '../storage/records';
import { freeRewardName, rewardKindInfo, type RewardDraft } from './train-grpo-rewards';
import { defaultGrpoValues, grpoProblem, grpoSettings, stopStringsOf, type GrpoValues } from './train-grpo-values';

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

const START = defaultGrpoValues(1024);

export class GrpoForm implements GrpoValues {
  numGenerations = $state(START.numGenerations);
  maxCompletionLength = $state(START.maxCompletionLength);
  temperature = $state(START.temperature);
  topP = $state(START.topP);
  topK = $state(START.topK);
  stopText = $state(START.stopText);
  beta = $state(START.beta);
  epsilon = $state(START.epsilon);
  epsilonHigh = $state<number | null | undefined>(START.epsilonHigh);
  numIterations = $state(START.numIterations);
  lossType = $state<GrpoLossType>(START.lossType);
  scaleRewards = $state<ScaleRewards>(START.scaleRewards);
  maskTruncatedCompletions = $state(START.maskTruncatedCompletions);
  rewards = $state<RewardDraft[]>([]);
  rewardTimeLimitMs = $state(START.rewardTimeLimitMs);
  private nextRewardId = 1;

  /** TRL's defaults (the completion length fitted to `maxLength`); the reward list is kept. */
  reset(maxLength: number): void {
    const { rewards: _, ...v } = defaultGrpoValues(maxLength);
    Object.assign(this, v);
  }

  /** Adds a reward of `kind` with weight 1, a free name and (custom) a starting function to edit. */
  addReward(kind: RewardKind): void {
    const name = freeRewardName(kind, this.rewards.map((r) => r.name));
    const arg = kind === 'custom' ? (rewardKindInfo(kind)?.placeholder ?? '') : '';
    this.rewards = [...this.rewards, { id: this.nextRewardId++, kind, name, weight: 1, arg }];
  }

  removeReward(id: number): void {
    this.rewards = this.rewards.filter((r) => r.id !== id);
  }

  stopStrings(): string[] {
    return stopStringsOf(this.stopText);
  }

  problem(loop: { batchSize: number; gradAccum: number; maxLength: number }): string | null {
    return grpoProblem(this, loop);
  }

  settings(): StoredGrpoSettings {
    return grpoSettings(this);
  }
}
