// `tunelab logits` flags.

import { formatHelp, integerListFlag, parseFlags, requiredString, stringFlag, UsageError, type FlagSpec } from '../args';
import { ADAPTER_FLAG, COMMON_FLAGS, MODEL_FLAGS, readCommonArgs, readModelArgs, type CommonArgs, type ModelArgs } from './common';

/** The one sequence to score: text for the model's tokenizer, or token ids as they are. */
export type LogitsInput = { kind: 'text'; text: string } | { kind: 'ids'; ids: number[] };

export interface LogitsArgs extends CommonArgs, ModelArgs {
  input: LogitsInput;
  /** The .safetensors file to write. */
  out: string;
}

const FLAGS: FlagSpec[] = [
  ...MODEL_FLAGS.slice(0, 1),
  { name: 'text', value: 'TEXT', help: "text to tokenize (BOS added as the model's tokenizer config says)" },
  { name: 'ids', value: '1,2,3', help: 'token ids, used exactly as given' },
  { name: 'out', value: 'FILE', help: 'the .safetensors file to write' },
  ADAPTER_FLAG,
  ...MODEL_FLAGS.slice(1),
  ...COMMON_FLAGS,
];

export const LOGITS_HELP = formatHelp(
  'tunelab logits --model DIR|HUB-ID (--text TEXT | --ids 1,2,3) --out FILE.safetensors [options]',
  'Runs one sequence through the model and writes input_ids (I32 [T]) and logits (F32 [T, vocab]), the\n' +
    'logits at every position, to a safetensors file.',
  FLAGS,
);

export function parseLogitsArgs(argv: readonly string[]): LogitsArgs {
  const flags = parseFlags('logits', argv, FLAGS);
  const text = stringFlag(flags, 'text');
  const ids = integerListFlag(flags, 'ids', { min: { value: 0 } });
  if ((text === undefined) === (ids === undefined)) {
    throw new UsageError('tunelab logits needs exactly one of --text TEXT or --ids 1,2,3');
  }
  const input: LogitsInput = ids ? { kind: 'ids', ids } : { kind: 'text', text: text ?? '' };
  return { ...readCommonArgs(flags), ...readModelArgs(flags), input, out: requiredString(flags, 'out', 'logits.safetensors') };
}
