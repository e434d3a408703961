// The engine's handle on one GPU device: limits, features, pipelines, buffers, steps and readback.
// It takes a `GPU` object from outside (navigator.gpu in a browser worker, dawn.node's create() in Node),
// so the engine itself touches neither the DOM nor Node.

import type { ActiveMatmulTuning } from '../ops/gpu/matmul-tuning';
import { summarizeAdapter, type GpuAdapterSummary } from './adapter-info';
import { BindGroupCache } from './bind-group-cache';
import { DispatchTapes } from './dispatch-tape';
import { BufferPool } from './buffer-pool';
import { createdBufferSize } from './buffer-size';
import {
  GpuDeviceLostError,
  GpuError,
  GpuOutOfMemoryError,
  GpuUnavailableError,
  GpuValidationError,
} from './errors';
import { GpuMemoryCounter } from './memory-counter';
import { PipelineCache } from './pipeline-cache';
import { StepEncoder } from './step-encoder';
import { UniformArena } from './uniform-arena';

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Ask for shader-f16 when the adapter has it (default true). */
  wantShaderF16?: boolean;
}

/** Limits we raise to the adapter's maximum: real models need large bindings and workgroups. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
] as const;

const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

export async function acquireGpu(gpu: GPU | undefined, options: AcquireOptions = {}): Promise<GpuContext> {
  if (!gpu) {
    throw new GpuUnavailableError(
      'no-api',
      'WebGPU is not available here (navigator.gpu is missing). Use Chrome or Edge 113+, or Firefox 141+ ' +
        '(Windows) / Safari 26+; on Linux start Chrome with --enable-unsafe-webgpu.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new GpuUnavailableError(
      'no-adapter',
      'WebGPU is present but no GPU adapter was found. Check that hardware acceleration is enabled ' +
        '(chrome://settings/system), update the GPU driver, or on Linux install a Vulkan driver ' +
        '(mesa-vulkan-drivers) and start the browser with --enable-unsafe-webgpu.',
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = WANTED_FEATURES.filter(
    (f) => adapter.features.has(f) && (f !== 'shader-f16' || options.wantShaderF16 !== false),
  );
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'tunelab' });
  } catch (err) {
    throw new GpuUnavailableError('no-device', `The adapter refused to create a device: ${(err as Error).message}`);
  }
  return new GpuContext(device, summarizeAdapter(adapter), [gpu, adapter]);
}

export class GpuContext {
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  readonly bindGroups: BindGroupCache;
  /** Per step length, what each dispatch of the last such step resolved (dispatch-tape.ts). */
  readonly tapes = new DispatchTapes();
  readonly uniforms: UniformArena;
  /** Bytes held in this context's GPU buffers now and at their peak (every buffer is made through it). */
  readonly memory = new GpuMemoryCounter();
  readonly storageUsage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  /** Resolves (never rejects) with the loss error once the device is gone. */
  readonly lost: Promise<GpuDeviceLostError>;
  private lostError: GpuDeviceLostError | undefined;
  private uncaptured: GpuError | undefined;
  /**
   * The device's limits and features, read once: every dispatch consults them, and on dawn.node each read
   * of device.limits or device.features is a call into native code.
   */
  readonly limits: GPUSupportedLimits;
  readonly hasShaderF16: boolean;
  readonly hasSubgroups: boolean;
  /**
   * The matmul variant per shape class measured on this device (ops/gpu/matmul-tuning.ts), read by the
   * dispatcher when set; set it only between runs (activateMatmulTuning), never while a step is recorded.
   */
  matmulTuning: ActiveMatmulTuning | undefined = undefined;
  private keptOpen = false;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: GpuAdapterSummary,
    /** The GPU and adapter objects: dawn.node crashes if they are collected while the device lives. */
    private readonly keepAlive: readonly unknown[] = [],
  ) {
    const limits: Record<string, number> = {};
    for (const key in device.limits) limits[key] = device.limits[key as keyof GPUSupportedLimits] as number;
    this.limits = limits as unknown as GPUSupportedLimits;
    this.hasShaderF16 = device.features.has('shader-f16');
    this.hasSubgroups = device.features.has('subgroups');
    this.pipelines = new PipelineCache(device);
    const create = (descriptor: GPUBufferDescriptor) => this.memory.create(device, descriptor);
    this.pool = new BufferPool(create);
    this.bindGroups = new BindGroupCache(device);
    this.uniforms = new UniformArena(create);
    this.lost = device.lost.then((info) => {
      this.lostError = new GpuDeviceLostError(info.reason ?? 'unknown', info.message);
      return this.lostError;
    });
    device.addEventListener('uncapturederror', (ev) => {
      this.uncaptured ??= toTypedError((ev as GPUUncapturedErrorEvent).error);
    });
  }

  /** True once the device is gone (the `lost` promise has resolved). */
  get isLost(): boolean {
    return this.lostError !== undefined;
  }

  step(): StepEncoder {
    this.throwIfBroken();
    return new StepEncoder(this);
  }

  /** Runs `body` inside validation + out-of-memory error scopes and throws what they caught. */
  async guard(body: () => void | Promise<void>): Promise<void> {
    this.throwIfBroken();
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let thrown: unknown;
    try {
      await body();
    } catch (err) {
      thrown = err;
    }
    const validation = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    if (thrown) throw thrown;
    const err = validation ?? oom;
    if (err) throw toTypedError(err);
    this.throwIfBroken();
  }

  createBuffer(bytes: number, label?: string, usage: GPUBufferUsageFlags = this.storageUsage): GPUBuffer {
    const max = this.limits.maxBufferSize;
    if (bytes > max) {
      throw new GpuOutOfMemoryError(
        `${label ?? 'buffer'} needs ${bytes} bytes, more than this adapter's maxBufferSize (${max}); split it.`,
      );
    }
    return this.memory.create(this.device, { size: createdBufferSize(bytes), usage, label });
  }

  /** A storage buffer holding `data` (f32, i32 or u32 words). */
  upload(data: Float32Array | Int32Array | Uint32Array, label?: string): GPUBuffer {
    const buffer = this.createBuffer(data.byteLength, label);
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  write(buffer: GPUBuffer, data: Float32Array | Int32Array | Uint32Array, byteOffset = 0): void {
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  async read(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): Promise<ArrayBuffer> {
    const step = this.step();
    const rb = step.read(buffer, offset, size);
    await step.submit();
    return rb.data();
  }

  async readF32(buffer: GPUBuffer, count: number, offsetElements = 0): Promise<Float32Array> {
    return new Float32Array(await this.read(buffer, offsetElements * 4, count * 4));
  }

  async readU32(buffer: GPUBuffer, count: number, offsetElements = 0): Promise<Uint32Array> {
    return new Uint32Array(await this.read(buffer, offsetElements * 4, count * 4));
  }

  /**
   * Makes destroy() drop only the pooled buffers, cached bind groups and matmul tuning and leave the device
   * open: for a process that runs commands one after another on one device (node-gpu.ts's shareOneNodeGpu),
   * where each command destroys its context when it ends.
   */
  keepOpenAcrossCommands(): void {
    this.keptOpen = true;
  }

  destroy(): void {
    this.bindGroups.clear();
    this.tapes.clear();
    this.pool.trim();
    if (this.keptOpen) {
      this.matmulTuning = undefined; // the next command applies its own
      return;
    }
    this.device.destroy();
    this.memory.deviceDestroyed();
  }

  private throwIfBroken(): void {
    if (this.lostError) throw this.lostError;
    const err = this.uncaptured;
    if (err) {
      this.uncaptured = undefined;
      throw err;
    }
  }
}

function toTypedError(err: GPUError): GpuError {
  if (err instanceof GpuError) return err;
  const name = (err as { constructor?: { name?: string } }).constructor?.name ?? '';
  if (name.includes('OutOfMemory')) {
    return new GpuOutOfMemoryError(
      `The GPU ran out of memory: ${err.message}. Lower the batch size or sequence length, or use f16 weights.`,
    );
  }
  return new GpuValidationError(`WebGPU validation failed: ${err.message}`);
}
