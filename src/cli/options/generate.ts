// `tunelab generate` flags.

import {
  formatHelp,
  hasSwitch,
  integerFlag,
  numberFlag,
  parseFlags,
  stringFlag,
  stringList,
  UsageError,
  type FlagSpec,
} from '../args';
import { DEFAULT_MAX_NEW_TOKENS } from '../../engine/model/generation-options';
import { ADAPTER_FLAG, COMMON_FLAGS, MODEL_FLAGS, readCommonArgs, readModelArgs, type CommonArgs, type ModelArgs } from './common';


export interface GenerateArgs extends CommonArgs, ModelArgs {
  /** '' starts from BOS alone. */
  prompt: string;
  /** Render the prompt as one user message through the model's chat template. */
  chat: boolean;
  /** Unset: generation_config.json's max_new_tokens, else DEFAULT_MAX_NEW_TOKENS. */
  maxNewTokens?: number;
  /** 0 = greedy. Unset: the model's generation_config.json decides. */
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
  /** Generation stops when the text ends with one of these (which is not printed). */
  stop: string[];
  /** JSONL of {"prompt": ...} records to complete instead of --prompt. */
  promptsFile?: string;
  /** Where --prompts-file results go (JSONL); default stdout. */
  out?: string;
  /** Prompts generated together (one sequence each, one GPU submit per step). */
  batch: number;
}

const FLAGS: FlagSpec[] = [
  ...MODEL_FLAGS.slice(0, 1),
  { name: 'prompt', value: 'TEXT', help: 'text to continue (default: none, start from BOS alone)' },
  { name: 'chat', help: "send the prompt as one user message through the model's chat template" },
  { name: 'max-new-tokens', value: 'N', help: `stop after N new tokens (default: generation_config.json's max_new_tokens, else ${DEFAULT_MAX_NEW_TOKENS})` },
  { name: 'temperature', value: 'T', help: "0 = greedy; > 0 samples (default: the model's generation_config.json decides)" },
  { name: 'top-k', value: 'K', help: 'sample from the K most likely tokens only (default: generation_config.json, else 50)' },
  { name: 'top-p', value: 'P', help: 'sample from the smallest set of tokens whose probability reaches P, in (0, 1]' },
  { name: 'repetition-penalty', value: 'R', help: 'divide the logits of tokens already seen by R (> 1 discourages repeats)' },
  { name: 'seed', value: 'S', help: 'random seed for sampling (an integer >= 0)' },
  { name: 'stop', value: 'STR', repeatable: true, help: 'stop when the text ends with STR (repeatable)' },
  { name: 'prompts-file', value: 'FILE', help: 'JSONL of {"prompt": ...} records: writes each record with "completion" and "finish_reason" added' },
  { name: 'out', value: 'FILE', help: 'with --prompts-file: write the JSONL here (default stdout)' },
  { name: 'batch', value: 'N', help: 'with --prompts-file: prompts generated together (default 16)' },
  ADAPTER_FLAG,
  ...MODEL_FLAGS.slice(1),
  ...COMMON_FLAGS,
];

export const GENERATE_HELP = formatHelp(
  'tunelab generate --model DIR|HUB-ID [--prompt TEXT] [--chat] [options]',
  'Generates text and streams it to stdout as it is produced; stdout carries only the generated text,\n' +
    'followed by one newline. Progress (downloads, loading, tokens per second) goes to stderr.\n' +
    'Generation stops at the end-of-sequence token, at a --stop string or after --max-new-tokens.',
  FLAGS,
);

export function parseGenerateArgs(argv: readonly string[]): GenerateArgs {
  const flags = parseFlags('generate', argv, FLAGS);
  const stop = stringList(flags, 'stop');
  if (stop.includes('')) throw new UsageError('--stop needs a non-empty string');
  if (flags.values.has('prompts-file') && flags.values.has('prompt')) throw new UsageError('--prompt and --prompts-file exclude each other');
  if (!flags.values.has('prompts-file') && (flags.values.has('out') || flags.values.has('batch'))) {
    throw new UsageError('--out and --batch go with --prompts-file');
  }
  return {
    ...readCommonArgs(flags),
    ...readModelArgs(flags),
    prompt: stringFlag(flags, 'prompt') ?? '',
    chat: hasSwitch(flags, 'chat'),
    maxNewTokens: integerFlag(flags, 'max-new-tokens', { min: { value: 1 } }),
    temperature: numberFlag(flags, 'temperature', { min: { value: 0 } }),
    topK: integerFlag(flags, 'top-k', { min: { value: 1 } }),
    topP: numberFlag(flags, 'top-p', { min: { value: 0, exclusive: true }, max: { value: 1 } }),
    repetitionPenalty: numberFlag(flags, 'repetition-penalty', { min: { value: 0, exclusive: true } }),
    seed: integerFlag(flags, 'seed', { min: { value: 0 }, max: { value: 2 ** 32 - 1 } }),
    stop,
    promptsFile: stringFlag(flags, 'prompts-file'),
    out: stringFlag(flags, 'out'),
    batch: integerFlag(flags, 'batch', { min: { value: 1 } }) ?? 16,
  };
}
