// The real WebGPU adapter for GPU tests: dawn.node on a Vulkan driver (SwiftShader by default).
// No adapter is a failure, never a skip: see scripts/gpu-env.sh for the driver set-up.

import { acquireGpu, type GpuContext } from '../../src/engine/gpu/context';
import { nodeGpu } from '../../src/node/node-gpu';

let ctx: Promise<GpuContext> | undefined;

export function testGpu(): Promise<GpuContext> {
  ctx ??= acquireGpu(nodeGpu()).catch((err: Error) => {
    throw new Error(
      `${err.message}\nGPU tests need a Vulkan driver: run them through "npm run test:gpu" ` +
        `(VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}).`,
    );
  });
  return ctx;
}
