// `tunelab info`: the adapter dawn.node finds, its features and limits.

import { formatHelp, hasSwitch, parseFlags, type FlagSpec } from '../args';
import { COMMON_FLAGS, readCommonArgs, type CommonArgs } from './common';

export interface InfoArgs extends CommonArgs {
  json: boolean;
}

const FLAGS: FlagSpec[] = [{ name: 'json', help: 'print one JSON object on stdout' }, ...COMMON_FLAGS];

export const INFO_HELP = formatHelp(
  'tunelab info [--json]',
  'Shows the WebGPU adapter the command line runs on: vendor, architecture, description, whether it is a\n' +
    'software adapter (a CPU emulation such as SwiftShader or lavapipe), its features and its limits, and the\n' +
    'matmul tuning stored for it (see tunelab tune): per shape class the kernel chosen and each candidate\'s GFLOP/s.',
  FLAGS,
);

export function parseInfoArgs(argv: readonly string[]): InfoArgs {
  const flags = parseFlags('info', argv, FLAGS);
  return { ...readCommonArgs(flags), json: hasSwitch(flags, 'json') };
}
