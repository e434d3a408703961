// The shapes shared by GRPO's reward functions: what one completion is scored with, how a reward is
// specified (CLI --reward items, the studio's reward list), and what scoring a batch gives.
// Conventions follow TRL's GRPOTrainer (trl/trainer/grpo_trainer.py, _calculate_rewards and the metrics after
// it): every function scores every completion; the total is the weighted sum over functions where a function
// that gave no value counts as 0 (TRL: None -> NaN, then nansum of weight * reward); the metric of each
// function is logged as rewards/<name>/mean and rewards/<name>/std.

/** What one completion is scored with. */
export interface RewardInput {
  prompt: string;
  completion: string;
  /** The dataset record's fields (e.g. GSM8K's answer). */
  example: Record<string, unknown>;
  completionTokens: number;
  /** The completion hit the length limit before EOS or a stop string. */
  truncated: boolean;
}

/** The built-in kinds, then 'custom' (JavaScript run in the sandbox). */
export const BUILTIN_REWARD_KINDS = ['answer-match', 'format', 'regex', 'contains', 'not-contains', 'length', 'json'] as const;
export type BuiltinRewardKind = (typeof BUILTIN_REWARD_KINDS)[number];
export type RewardKind = BuiltinRewardKind | 'custom';

export interface RewardSpec {
  kind: RewardKind;
  weight: number;
  /**
   * Kind-specific argument: answer-match's extraction regex, format's or regex's pattern, contains' text,
   * length's target in words, custom's JavaScript source. A custom spec without arg names an export of a
   * reward module (CLI: `--reward my_reward:2` with `--reward-module FILE`).
   */
  arg?: string;
  /** Shown name, the TRL-style metric key rewards/<name>/mean. */
  name: string;
}

export interface RewardError {
  /** The reward function's name. */
  name: string;
  /** The completion's index in the scored batch. */
  index: number;
  message: string;
}

export interface RewardScores {
  /** (n) per function name; 0 where the call failed. */
  perFunction: Record<string, Float64Array>;
  /** (n) weighted sum over the functions (TRL: nansum of weight * reward). */
  total: Float64Array;
  /** One per failed call, by function in set order, then by index. */
  errors: RewardError[];
}

export interface RewardSet {
  readonly names: string[];
  readonly weights: number[];
  /** Scores every input with every function; a failing call gives 0 and an error, never a rejection. */
  score(inputs: readonly RewardInput[], signal?: AbortSignal): Promise<RewardScores>;
  /** Later score() calls reject. The sandbox belongs to the caller and is not disposed. */
  dispose(): void;
}

/** A spec that cannot be used (bad kind, pattern, weight, source, module), with what is wrong. */
export class RewardSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RewardSpecError';
  }
}

/** Thrown by a built-in for one completion (e.g. the example lacks a field): that call scores 0. */
export class RewardCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RewardCallError';
  }
}
