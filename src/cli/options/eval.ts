// `tunelab eval` flags.

import { choiceFlag, formatHelp, integerFlag, parseFlags, requiredString, stringFlag, UsageError, type FlagSpec } from '../args';
import type { ObjectiveMethod } from '../../engine/train/objective';
import { ADAPTER_FLAG, COMMON_FLAGS, MODEL_FLAGS, readCommonArgs, readModelArgs, type CommonArgs, type ModelArgs } from './common';
import { evalSuitesHelp } from './eval-suites';
import { METHOD_FLAG, PREFERENCE_FLAGS, readMethod, readPreferenceSettings, requireMethod, type PreferenceSettings } from './method';

export type RegexTarget = 'completion' | 'prompt+completion';

export interface EvalArgs extends CommonArgs, ModelArgs {
  data: string;
  /** sft: loss and perplexity of the trained tokens; dpo, simpo, orpo: the objective's loss and metrics on pairs. */
  method: ObjectiveMethod;
  preference: PreferenceSettings;
  maxPromptLength?: number;
  regex?: RegExp;
  /** What --regex is matched against: the generation alone, or the prompt followed by it. */
  regexTarget: RegexTarget;
  /** Unset: each example's reference completion length in tokens + 16. */
  maxNewTokens?: number;
  maxLength?: number;
  batchSize: number;
  /** Generations of the first N examples included in the JSON. */
  samples: number;
}

const FLAGS: FlagSpec[] = [
  ...MODEL_FLAGS.slice(0, 1),
  ADAPTER_FLAG,
  { name: 'data', value: 'FILE', help: 'evaluation data (the formats tunelab train reads)' },
  METHOD_FLAG,
  ...PREFERENCE_FLAGS,
  { name: 'max-prompt-length', value: 'N', help: 'preference data: keep the last N tokens of each prompt (default 512)' },
  { name: 'regex', value: 'PATTERN', help: 'prompt-completion or preference data: report how often greedy generations from the prompts match this JavaScript regular expression' },
  { name: 'regex-target', value: 'WHAT', help: 'completion (default): match the generation; prompt+completion: match the prompt followed by it (backreferences into the prompt)' },
  { name: 'max-new-tokens', value: 'N', help: 'generation length (default: the reference completion length + 16 tokens)' },
  { name: 'max-length', value: 'T', help: 'truncate examples to T tokens for the loss (default: 512 or the model context)' },
  { name: 'batch-size', value: 'B', help: 'examples per GPU step, for the loss and for generation (default 16)' },
  { name: 'samples', value: 'N', help: 'include the first N generations in the output (default 3)' },
  ...MODEL_FLAGS.slice(1),
  ...COMMON_FLAGS,
];

const DATA_HELP = formatHelp(
  'tunelab eval --model DIR|HUB-ID [--adapter DIR] --data FILE [--method sft|dpo|simpo|orpo] [--regex PATTERN] [options]',
  'Prints one JSON object: the held-out loss and perplexity over the trained tokens of --data (as tunelab train\n' +
    'counts them) and, for prompt-completion data, the exact-match rate of greedy generations and the rate at\n' +
    'which they match --regex. With --method dpo (simpo, orpo) on preference pairs: the preference accuracy (how\n' +
    'often the model finds the chosen answer more likely than the rejected one), the mean reward margin and TRL\'s\n' +
    'reward metrics, against the base model (without --adapter: the base against itself).',
  FLAGS,
);

/** Both modes: --data (held-out objective) and --suite (evaluation suites, options/eval-suites.ts). */
export const EVAL_HELP = `${DATA_HELP}\n${evalSuitesHelp()}`;

export function parseEvalArgs(argv: readonly string[]): EvalArgs {
  const flags = parseFlags('eval', argv, FLAGS);
  const method = readMethod(flags);
  requireMethod(flags, 'max-prompt-length', method, ['dpo', 'simpo', 'orpo']);
  const pattern = stringFlag(flags, 'regex');
  let regex: RegExp | undefined;
  if (pattern !== undefined) {
    try {
      regex = new RegExp(pattern);
    } catch (err) {
      throw new UsageError(`--regex is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  return {
    ...readCommonArgs(flags),
    ...readModelArgs(flags),
    data: requiredString(flags, 'data', 'eval.jsonl'),
    method,
    preference: readPreferenceSettings(flags, method),
    maxPromptLength: integerFlag(flags, 'max-prompt-length', { min: { value: 1 } }),
    regex,
    regexTarget: choiceFlag(flags, 'regex-target', ['completion', 'prompt+completion'] as const) ?? 'completion',
    maxNewTokens: integerFlag(flags, 'max-new-tokens', { min: { value: 1 } }),
    maxLength: integerFlag(flags, 'max-length', { min: { value: 2 } }),
    batchSize: integerFlag(flags, 'batch-size', { min: { value: 1 } }) ?? 16,
    samples: integerFlag(flags, 'samples', { min: { value: 0 } }) ?? 3,
  };
}
