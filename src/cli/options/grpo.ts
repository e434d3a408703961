// `tunelab train --method grpo` flags with TRL GRPOConfig's names and defaults (src/engine/train/grpo/grpo-config.ts):
// the rewards (--reward, --reward-module), sampling, the clipped objective and where completions come from
// (sampled from --data prompts, or fixed in a --rollouts file). --beta and --loss-type are shared with DPO
// but read GRPO's meaning and choices here.

import { choiceFlag, hasSwitch, integerFlag, numberFlag, stringFlag, stringList, UsageError, type FlagSpec, type ParsedFlags } from '../args';
import { DEFAULT_REWARD_TIME_LIMIT_MS } from '../../engine/train/grpo/rewards/reward-set';
import { GRPO_DEFAULTS, GRPO_LOSS_TYPES, SCALE_REWARDS, type GrpoConfig } from '../../engine/train/grpo/grpo-config';
import type { ObjectiveMethod } from '../../engine/train/objective';
import { requireMethod } from './method';

export interface GrpoArgs {
  /** Only the settings given (grpoConfig fills TRL's defaults and validates). */
  settings: Partial<GrpoConfig>;
  /** --reward: built-in and module reward names with weights ("answer-match,format:0.5"). */
  rewards?: string;
  /** --reward-module: ES modules whose named exports are reward functions. */
  rewardModules: string[];
  /** Per reward call, in ms. */
  rewardTimeLimitMs: number;
  /** Fixed completions and rewards (JSONL, one group a line) instead of sampling from --data prompts. */
  rollouts?: string;
}

export const GRPO_FLAGS: FlagSpec[] = [
  { name: 'reward', value: 'LIST', help: 'grpo: reward functions, comma-separated NAME[=ARG][:WEIGHT]: answer-match, format[=REGEX], regex=REGEX, contains=TEXT, not-contains=TEXT ({field} reads the example), length=WORDS, json, or a --reward-module export' },
  { name: 'reward-module', value: 'FILE', repeatable: true, help: 'grpo: an ES module whose named exports (completion, example) => number are rewards, run in a sandbox with no network and a time limit per call' },
  { name: 'reward-time-limit', value: 'MS', help: `grpo: time limit of one custom reward call; past it the completion gets 0 and an error (default ${DEFAULT_REWARD_TIME_LIMIT_MS})` },
  { name: 'rollouts', value: 'FILE', help: 'grpo: fixed completions and rewards instead of sampling, JSONL {"prompt_input_ids", "completion_input_ids", "rewards"} per group' },
  { name: 'num-generations', value: 'G', help: `grpo: completions per prompt (default ${GRPO_DEFAULTS.numGenerations}); batch size x grad accum must be a multiple` },
  { name: 'num-generations-eval', value: 'G', help: 'grpo: completions per held-out prompt at each evaluation (default: num-generations)' },
  { name: 'max-completion-length', value: 'N', help: `grpo: tokens per completion at most (default ${GRPO_DEFAULTS.maxCompletionLength})` },
  { name: 'temperature', value: 'T', help: 'grpo: sampling temperature (default 1.0)' },
  { name: 'top-p', value: 'P', help: 'grpo: nucleus sampling (default 1.0 = off)' },
  { name: 'top-k', value: 'K', help: 'grpo: top-k sampling (default 0 = off)' },
  { name: 'stop', value: 'TEXT', repeatable: true, help: 'grpo: end a completion at this string (repeatable)' },
  { name: 'epsilon', value: 'E', help: `grpo: lower clipping bound of the ratio, 1 - E (default ${GRPO_DEFAULTS.epsilon})` },
  { name: 'epsilon-high', value: 'E', help: 'grpo: upper clipping bound, 1 + E (default: epsilon; DAPO uses 0.28)' },
  { name: 'num-iterations', value: 'MU', help: 'grpo: optimizer steps per generation batch (default 1)' },
  { name: 'scale-rewards', value: 'NAME', help: `grpo: ${SCALE_REWARDS.join(', ')} (default ${GRPO_DEFAULTS.scaleRewards})` },
  { name: 'mask-truncated-completions', help: 'grpo: leave completions cut by the length limit out of the loss' },
];

const GRPO_ONLY = GRPO_FLAGS.map((f) => f.name);

export function readGrpoArgs(flags: ParsedFlags, method: ObjectiveMethod): GrpoArgs {
  for (const name of GRPO_ONLY) requireMethod(flags, name, method, ['grpo']);
  if (method !== 'grpo') return { settings: {}, rewardModules: [], rewardTimeLimitMs: DEFAULT_REWARD_TIME_LIMIT_MS };
  const settings: Partial<GrpoConfig> = {
    numGenerations: integerFlag(flags, 'num-generations', { min: { value: 2 } }),
    numGenerationsEval: integerFlag(flags, 'num-generations-eval', { min: { value: 1 } }),
    maxCompletionLength: integerFlag(flags, 'max-completion-length', { min: { value: 1 } }),
    temperature: numberFlag(flags, 'temperature', { min: { value: 0, exclusive: true } }),
    topP: numberFlag(flags, 'top-p', { min: { value: 0, exclusive: true }, max: { value: 1 } }),
    topK: integerFlag(flags, 'top-k', { min: { value: 0 } }),
    beta: numberFlag(flags, 'beta', { min: { value: 0 } }),
    epsilon: numberFlag(flags, 'epsilon', { min: { value: 0, exclusive: true }, max: { value: 1, exclusive: true } }),
    epsilonHigh: numberFlag(flags, 'epsilon-high', { min: { value: 0, exclusive: true } }),
    numIterations: integerFlag(flags, 'num-iterations', { min: { value: 1 } }),
    lossType: choiceFlag(flags, 'loss-type', GRPO_LOSS_TYPES),
    scaleRewards: choiceFlag(flags, 'scale-rewards', SCALE_REWARDS),
    maskTruncatedCompletions: hasSwitch(flags, 'mask-truncated-completions') || undefined,
    stopStrings: flags.values.has('stop') ? stringList(flags, 'stop') : undefined,
  };
  const rollouts = stringFlag(flags, 'rollouts');
  const rewards = stringFlag(flags, 'reward');
  const rewardModules = stringList(flags, 'reward-module');
  if (rollouts !== undefined && (rewards !== undefined || rewardModules.length > 0)) {
    throw new UsageError('--rollouts brings its own rewards: leave out --reward and --reward-module');
  }
  if (rollouts === undefined && rewards === undefined && rewardModules.length === 0) {
    throw new UsageError('--method grpo needs reward functions: --reward LIST and/or --reward-module FILE (or fixed completions with --rollouts FILE)');
  }
  return { settings, rewards, rewardModules, rewardTimeLimitMs: integerFlag(flags, 'reward-time-limit', { min: { value: 1 } }) ?? DEFAULT_REWARD_TIME_LIMIT_MS, rollouts };
}
