// --reward-module FILE: reads the module's text (it is never imported into the CLI's own process) and
// checks its exports at once, so a bad file fails before the model loads, with the file and line. The
// rewards themselves run in the code sandbox (createRewardSet with customModules).

import { readFile } from 'node:fs/promises';
import { parseRewardModule, type RewardModuleSource } from '../engine/train/grpo/rewards';

export interface LoadedRewardModule extends RewardModuleSource {
  /** The exported reward names, in file order. */
  exports: string[];
}

export async function readRewardModule(path: string): Promise<LoadedRewardModule> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`--reward-module ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const parsed = parseRewardModule(source, path);
  return { name: path, source, exports: parsed.exports.map((e) => e.name) };
}
