// Our side on dawn.node (npm "webgpu"): the same bench/core code the page runs, loaded in this process
// (through Vite's module runner, as this file is); stories260K read from the models folder. The peer
// (TensorFlow.js) is browser-only.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { BenchOptions, Log, PeerReport } from '../core/types';
import type { BenchResult } from './report-json';

export async function runInNode(modelsDir: string, options: BenchOptions, progress: Log): Promise<BenchResult> {
  const require = createRequire(import.meta.url);
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const version = (require('webgpu/package.json') as { version: string }).version;
  const icd = process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || 'system Vulkan drivers';
  const { runOurs } = await import('../core/suite');
  const { DirectorySource } = await import('../../src/node/directory-source');
  const storiesDir = join(modelsDir, 'stories260K');
  const trainSources = { stories260K: { source: () => new DirectorySource(storiesDir), where: storiesDir } };
  const ours = await runOurs(gpu, options, `dawn.node (npm webgpu ${version}; Vulkan: ${icd})`, progress, trainSources);
  const peer: PeerReport = { name: 'TensorFlow.js WebGPU backend', available: false, error: 'not available in Node', matmul: [] };
  return { ours, peer };
}
