// `tunelab tune`: measure the matmul kernels on this adapter now and store the choice.

import { choiceFlag, formatHelp, hasSwitch, numberFlag, parseFlags, type FlagSpec } from '../args';
import { COMMON_FLAGS, readCommonArgs, type CommonArgs } from './common';

export interface TuneArgs extends CommonArgs {
  json: boolean;
  /** Seconds for the whole tune (default: 5 on a real GPU, 15 on a software adapter). */
  budget?: number;
  profile?: 'full' | 'small';
}

const FLAGS: FlagSpec[] = [
  { name: 'budget', value: 'SECONDS', help: 'time for the whole tune (default 5 on a GPU, 15 on a software adapter)' },
  { name: 'profile', value: 'full|small', help: "the products timed: SmolLM2-135M's sizes (full, the GPU default) or cut ones (small)" },
  { name: 'json', help: 'print the tuning record as one JSON object on stdout' },
  ...COMMON_FLAGS,
];

export const TUNE_HELP = formatHelp(
  'tunelab tune [--budget SECONDS] [--profile full|small] [--json]',
  'Times every matmul kernel variant the adapter supports on the shape classes training and generation run\n' +
    '(decode, short and long batches; f16 and f32 weights; LoRA products and weight gradients), keeps per class\n' +
    'the fastest whose output matches the built-in choice, and stores it in matmul-tuning.json in the cache\n' +
    'folder ($TUNELAB_CACHE, else ~/.cache/tunelab), where every later command finds it. Commands measure once\n' +
    'by themselves when no tuning of this adapter and these kernels is stored (TUNELAB_MATMUL_TUNING=cached\n' +
    'only reads a stored one, =off keeps the built-in choice).',
  FLAGS,
);

export function parseTuneArgs(argv: readonly string[]): TuneArgs {
  const flags = parseFlags('tune', argv, FLAGS);
  return {
    ...readCommonArgs(flags),
    json: hasSwitch(flags, 'json'),
    budget: numberFlag(flags, 'budget', { min: { value: 0, exclusive: true }, max: { value: 600 } }),
    profile: choiceFlag(flags, 'profile', ['full', 'small'] as const),
  };
}
