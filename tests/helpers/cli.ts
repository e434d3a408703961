// Runs `node bin/tunelab.mjs ...` (or another script) from the repository as a user would, in a child
// process that inherits the Vulkan environment of scripts/gpu-env.sh.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../..');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

export const tunelab = (args: string[], env?: NodeJS.ProcessEnv) => runNode(['bin/tunelab.mjs', ...args], env);

/** One row of a run's metrics.jsonl: the step and whatever numbers it logged. */
export type MetricsRow = Record<string, number | undefined> & { step: number };

/** The rows `tunelab train --out DIR` wrote to DIR/metrics.jsonl, in order. */
export async function readMetrics(dir: string): Promise<MetricsRow[]> {
  return (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as MetricsRow);
}
