// Tunelab benchmark driver (`npm run bench`, started by bench/run.mjs): the adapter, its measured compute
// peak and copy bandwidth, our matmul on square and LLM shapes, and the same products through a peer
// (TensorFlow.js's WebGPU backend) on the same adapter; with --train, --eval, --grpo (or --full) the
// training, scoring and GRPO sections. bench/README.md describes every figure; --help every option.
//
// Headless Chromium by default (the page: bench/index.html + bench/browser/*.ts, served by page-server.ts);
// --node runs the same bench/core code on dawn.node in this process.

import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgsError, benchOptions, parseArgs, watchdogSeconds, type BenchArgs } from './args';
import { runInChromium } from './browser-runner';
import { installExitHandlers, type Cleanups } from './cleanups';
import { HELP } from './help';
import { runInNode } from './node-runner';
import { humanReport } from './report-human';
import { buildJson, exitCodeOf } from './report-json';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const progress = (line: string) => process.stderr.write(`${line}\n`);

/** dawn.node reads the Vulkan driver's location when it starts: run the bench again through scripts/gpu-env.sh. */
function needsGpuEnv(args: BenchArgs): boolean {
  return args.node && !args.systemVulkan && !process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES;
}

/**
 * Runs the bench with the command line's arguments; returns the exit status (2: bad arguments, 1: a failed
 * or untrustworthy run). `entry` is the script Node started (bench/run.mjs), for the run under gpu-env.sh.
 */
export async function main(argv: readonly string[], entry: string): Promise<number> {
  const startedAt = Date.now() - process.uptime() * 1000;
  let args: BenchArgs;
  try {
    args = parseArgs(argv, { env: process.env, root });
  } catch (err) {
    console.error(`bench: ${err instanceof ArgsError ? err.message : String(err)}`);
    return 2;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  if (needsGpuEnv(args)) {
    const child = spawnSync('bash', [join(root, 'scripts/gpu-env.sh'), process.execPath, entry, ...argv], { stdio: 'inherit' });
    return child.status ?? 1;
  }

  const options = benchOptions(args);
  const cleanups: Cleanups = new Set();
  installExitHandlers(cleanups, watchdogSeconds(options));
  try {
    progress(`bench: ${args.node ? 'dawn.node' : `Chromium (${args.chromium})`}; progress below, results at the end`);
    const result = args.node
      ? await runInNode(args.modelsDir, options, progress)
      : await runInChromium({ root, modelsDir: args.modelsDir, chromium: args.chromium, peer: args.peer }, options, progress, cleanups);
    const json = buildJson(result, (Date.now() - startedAt) / 1000);
    if (args.out) await writeFile(args.out, `${JSON.stringify(json, null, 2)}\n`);
    process.stdout.write(args.json ? `${JSON.stringify(json)}\n` : `${humanReport(json)}\n`);
    return exitCodeOf(json);
  } catch (err) {
    console.error(`bench: ${(err as Error).stack ?? err}`);
    return 1;
  }
}
