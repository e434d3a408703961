// The built-in rewards: pure, deterministic functions of one completion (and its example), each compiled
// once from its spec so that a bad argument is refused before a run. TRL ships format rewards as regex
// matches that give 1.0 or 0.0 (trl/rewards/format_rewards.py think_format_reward); ours search the whole
// completion, so a pattern that must cover all of it says so with ^ and $.

import { compileUserRegex, regexMatch } from '../../../eval/metrics/text-metrics';
import { answerMatchReward, globalPattern } from './answer-match';
import { RewardCallError, RewardSpecError, type BuiltinRewardKind, type RewardInput } from './reward-types';

export type BuiltinReward = (input: RewardInput) => number;

/** format's default: a GSM8K-style final answer line. */
export const DEFAULT_FORMAT_PATTERN = '####\\s*-?[\\d,.]+';

/** "/body/flags" gives a pattern with flags; any other text is the pattern itself. */
export function parsePatternArg(arg: string, what: string): RegExp {
  const slashed = /^\/([\s\S]+)\/([a-z]*)$/.exec(arg);
  try {
    return slashed ? compileUserRegex(slashed[1], slashed[2]) : compileUserRegex(arg);
  } catch (err) {
    throw new RewardSpecError(`${what}: ${(err as Error).message}`);
  }
}

/** Text with {field} replaced by the example's field; a missing or non-scalar field fails the call. */
export function fillExampleFields(template: string, example: Record<string, unknown>): string {
  return template.replace(/\{([A-Za-z_][\w-]*)\}/g, (_, field: string) => {
    const value = example[field];
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new RewardCallError(`the example has no field "${field}" to fill {${field}} (found ${value === undefined ? 'none' : value === null ? 'null' : typeof value})`);
  });
}

/** Words: runs of non-whitespace. */
export function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length;
}

/** 1 - |words - target| / target, clipped to [0, 1]. */
export function lengthReward(completion: string, targetWords: number): number {
  return Math.min(1, Math.max(0, 1 - Math.abs(countWords(completion) - targetWords) / targetWords));
}

/** 1 when the trimmed completion parses as JSON. */
export function jsonReward(completion: string): number {
  const text = completion.trim();
  if (text === '') return 0;
  try {
    JSON.parse(text);
    return 1;
  } catch {
    return 0;
  }
}

function requireArg(kind: BuiltinRewardKind, arg: string | undefined, what: string): string {
  if (arg === undefined || arg === '') throw new RewardSpecError(`${kind} needs ${what} (${kind}=...)`);
  return arg;
}

function refuseArg(kind: BuiltinRewardKind, arg: string | undefined): void {
  if (arg !== undefined && arg !== '') throw new RewardSpecError(`${kind} takes no argument, got "${arg}"`);
}

/** The reward of one built-in spec; throws RewardSpecError for a bad argument. */
export function compileBuiltinReward(kind: BuiltinRewardKind, arg: string | undefined): BuiltinReward {
  switch (kind) {
    case 'answer-match': {
      const pattern = arg === undefined || arg === '' ? undefined : globalPattern(parsePatternArg(arg, 'answer-match extraction regex'));
      return ({ completion, example }) => answerMatchReward(completion, example, pattern);
    }
    case 'format':
    case 'regex': {
      const source = kind === 'format' && (arg === undefined || arg === '') ? DEFAULT_FORMAT_PATTERN : requireArg(kind, arg, 'a pattern');
      const pattern = parsePatternArg(source, `${kind} pattern`);
      return ({ completion }) => regexMatch(completion, pattern);
    }
    case 'contains':
    case 'not-contains': {
      const template = requireArg(kind, arg, 'the text to look for');
      const present = kind === 'contains' ? 1 : 0;
      return ({ completion, example }) => (completion.includes(fillExampleFields(template, example)) ? present : 1 - present);
    }
    case 'length': {
      const text = requireArg(kind, arg, 'a target number of words');
      const target = Number(text);
      if (!(target > 0) || !Number.isFinite(target)) throw new RewardSpecError(`length's target must be a positive number of words, got "${text}"`);
      return ({ completion }) => lengthReward(completion, target);
    }
    case 'json':
      refuseArg(kind, arg);
      return ({ completion }) => jsonReward(completion);
  }
}
