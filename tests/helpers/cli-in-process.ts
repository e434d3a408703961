// Runs a `tunelab` command line inside the test process: main(argv, io), the function bin/tunelab.mjs calls,
// on one GPU device that every command of the test file shares (shareOneNodeGpu). Each pipeline then
// compiles once per file instead of once per command process (20-30 s of a software adapter's time per
// training command). tests/gpu/cli.test.ts and the tests of process behaviour (exit codes of the real binary,
// environment variables, the bundle build) keep running the real `node bin/tunelab.mjs` (helpers/cli.ts).

import { main } from '../../src/cli/main';
import { shareOneNodeGpu } from '../../src/node/node-gpu';
import type { CliRun } from './cli';

export async function tunelabInProcess(args: string[]): Promise<CliRun> {
  shareOneNodeGpu();
  let stdout = '';
  let stderr = '';
  const status = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { status, stdout, stderr };
}
