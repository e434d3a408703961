// The real WebGPU adapter for GPU tests: dawn.node on a Vulkan driver (SwiftShader by default).
// No adapter is a failure, never a skip: see scripts/gpu-env.sh for the driver set-up.

import { create, globals } from 'webgpu';
import { acquireGpu, type GpuContext } from '../../src/engine/gpu/context';

let ctx: Promise<GpuContext> | undefined;

export function testGpu(): Promise<GpuContext> {
  if (!ctx) {
    Object.assign(globalThis, globals);
    const gpu = create([]);
    ctx = acquireGpu(gpu).catch((err: Error) => {
      throw new Error(
        `${err.message}\nGPU tests need a Vulkan driver: run them through "npm run test:gpu" ` +
          `(VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}).`,
      );
    });
  }
  return ctx;
}
