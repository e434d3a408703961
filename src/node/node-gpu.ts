// A GpuContext on dawn.node (npm "webgpu"): the command line, the GPU tests and the Node benchmarks.
// dawn.node picks a Vulkan, Metal or D3D12 driver; on a machine without one there is no adapter.

import { create, globals } from 'webgpu';
import { acquireGpu, type AcquireOptions, type GpuContext } from '../engine/gpu/context';
import { GpuUnavailableError } from '../engine/gpu/errors';

let installed = false;

/** dawn.node's GPU object, with the WebGPU globals (GPUBufferUsage, ...) the engine reads installed once. */
export function nodeGpu(dawnOptions: string[] = []): GPU {
  if (!installed) {
    Object.assign(globalThis, globals);
    installed = true;
  }
  return create(dawnOptions);
}

/** Why there is no adapter and what to do, for Node (the browser's message talks about browser settings). */
export function noAdapterMessage(): string {
  const icd = process.env.VK_ICD_FILENAMES;
  return (
    'no GPU adapter: dawn.node found no Vulkan, Metal or D3D12 driver' +
    (icd ? ` (VK_ICD_FILENAMES=${icd})` : '') +
    '. Install a Vulkan driver (e.g. mesa-vulkan-drivers; scripts/gpu-env.sh points dawn.node at SwiftShader).'
  );
}

let shared: { ctx?: Promise<GpuContext> } | undefined;

/**
 * From now on every acquireNodeGpu() in this process answers with one device that the commands' destroy()
 * leaves open. For a process that runs commands one after another (the command line's tests call main() many
 * times): each pipeline then compiles once for all of them, not once per command (seconds each on a software
 * adapter). A lost device is replaced at the next acquire.
 */
export function shareOneNodeGpu(): void {
  shared ??= {};
}

/** Acquires a device on dawn.node (the process's shared one after shareOneNodeGpu). */
export async function acquireNodeGpu(options: AcquireOptions = {}): Promise<GpuContext> {
  const sharing = shared;
  if (!sharing) return acquireOwnNodeGpu(options);
  sharing.ctx ??= acquireOwnNodeGpu(options).then(
    (ctx) => {
      ctx.keepOpenAcrossCommands();
      return ctx;
    },
    (err: unknown) => {
      sharing.ctx = undefined;
      throw err;
    },
  );
  const ctx = await sharing.ctx;
  if (!ctx.isLost) return ctx;
  sharing.ctx = undefined;
  return acquireNodeGpu(options);
}

async function acquireOwnNodeGpu(options: AcquireOptions): Promise<GpuContext> {
  try {
    return await acquireGpu(nodeGpu(), options);
  } catch (err) {
    if (err instanceof GpuUnavailableError && err.reason === 'no-adapter') {
      throw new GpuUnavailableError('no-adapter', noAdapterMessage());
    }
    throw err;
  }
}
