// Records many dispatches, copies and readbacks, then encodes them into one command encoder and one
// queue submit. Encoding is deferred to submit() so that every parameter block of the step lands in a
// single uniform buffer (one writeBuffer) and pipelines compile before anything is encoded.

import type { GpuContext } from './context';
import type { DispatchTape } from './dispatch-tape';
import type { DispatchTimer } from './dispatch-timer';
import type { KernelConstants, KernelDef } from './kernel';
import type { CachedPipeline } from './pipeline-cache';

export interface BufferRange {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

export type Binding = GPUBuffer | BufferRange;

interface DispatchCmd {
  kind: 'dispatch';
  def: KernelDef;
  constants: KernelConstants;
  bindings: Binding[];
  paramsOffset: number;
  paramsSize: number;
  workgroups: readonly [number, number, number];
}

interface CopyCmd {
  kind: 'copy';
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  size: number;
}

interface ClearCmd {
  kind: 'clear';
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

type Cmd = DispatchCmd | CopyCmd | ClearCmd;

/** Bytes that arrive after submit(); `data()` resolves once the GPU has produced them. */
export class Readback {
  private result: Promise<ArrayBuffer> | undefined;
  constructor(
    readonly staging: GPUBuffer,
    readonly size: number,
  ) {}
  /** @internal */ start(release: (b: GPUBuffer) => void): void {
    this.result = this.staging.mapAsync(GPUMapMode.READ, 0, this.size).then(() => {
      const copy = this.staging.getMappedRange(0, this.size).slice(0);
      this.staging.unmap();
      release(this.staging);
      return copy;
    });
  }
  data(): Promise<ArrayBuffer> {
    if (!this.result) throw new Error('Readback.data() called before the encoder was submitted');
    return this.result;
  }
}

const NO_PARAMS = -1;

/** Buffers a kernel binds besides its parameter block, and whether it has one: counted once per kernel. */
const kernelShapes = new WeakMap<KernelDef, { buffers: number; params: boolean }>();
function kernelShape(def: KernelDef): { buffers: number; params: boolean } {
  let shape = kernelShapes.get(def);
  if (!shape) {
    shape = { buffers: def.bindings.filter((k) => k !== 'uniform').length, params: def.bindings.includes('uniform') };
    kernelShapes.set(def, shape);
  }
  return shape;
}

export class StepEncoder {
  private readonly cmds: Cmd[] = [];
  /** The dispatch commands of cmds, in order. */
  private readonly dispatches: DispatchCmd[] = [];
  /** Every parameter block of the step at its offset, as recorded (grown by doubling). */
  private staging = new Uint8Array(4096);
  private paramsBytes = 0;
  private readonly readbacks: Readback[] = [];
  private readonly temps: GPUBuffer[] = [];
  private readonly sharedScratch = new Map<string, { buffer: GPUBuffer; bytes: number }>();
  private submitted = false;
  /** When set, every dispatch runs in a pass of its own with timestamps (profiling, see dispatch-timer.ts). */
  timer: DispatchTimer | undefined;
  /**
   * performance.now() when queue.submit returned (0 before): submit() then still awaits the error scopes,
   * whose answer waits on the device (on a software adapter, on the cores running the step).
   */
  queuedAt = 0;

  constructor(readonly ctx: GpuContext) {}

  get dispatchCount(): number {
    return this.dispatches.length;
  }

  /**
   * Records one dispatch. `params` (if given) is bound at the binding the kernel marks 'uniform';
   * `bindings` fill the other bindings in order.
   */
  dispatch(
    def: KernelDef,
    bindings: Binding[],
    workgroups: readonly [number, number, number],
    params?: ArrayBuffer,
    constants: KernelConstants = {},
  ): void {
    this.assertOpen();
    const { buffers: expected, params: needsParams } = kernelShape(def);
    if (bindings.length !== expected) {
      throw new Error(`${def.name}: expected ${expected} buffers, got ${bindings.length}`);
    }
    if (needsParams !== Boolean(params)) {
      throw new Error(`${def.name}: parameter block ${needsParams ? 'missing' : 'not expected'}`);
    }
    for (const w of workgroups) {
      if (!Number.isInteger(w) || w < 0 || w > this.ctx.limits.maxComputeWorkgroupsPerDimension) {
        throw new RangeError(`${def.name}: workgroup count ${w} is outside this adapter's limit`);
      }
    }
    let paramsOffset = NO_PARAMS;
    let paramsSize = 0;
    if (params) {
      const align = this.ctx.limits.minUniformBufferOffsetAlignment;
      paramsOffset = Math.ceil(this.paramsBytes / align) * align;
      paramsSize = params.byteLength;
      this.paramsBytes = paramsOffset + paramsSize;
      if (this.paramsBytes > this.staging.length) {
        const grown = new Uint8Array(Math.max(this.paramsBytes, 2 * this.staging.length));
        grown.set(this.staging);
        this.staging = grown;
      }
      this.staging.set(new Uint8Array(params), paramsOffset);
    }
    const cmd: DispatchCmd = { kind: 'dispatch', def, constants, bindings, paramsOffset, paramsSize, workgroups };
    this.cmds.push(cmd);
    this.dispatches.push(cmd);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.assertOpen();
    this.cmds.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  clear(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): void {
    this.assertOpen();
    this.cmds.push({ kind: 'clear', buffer, offset, size });
  }

  /** A scratch buffer that returns to the pool after this step's submit. */
  temp(bytes: number, label?: string): GPUBuffer {
    const b = this.ctx.pool.acquire(bytes, this.ctx.storageUsage, label);
    this.temps.push(b);
    return b;
  }

  /**
   * A scratch buffer of this step shared by every caller asking under `key` (e.g. each layer's attention
   * scores): dispatches run in recording order, so a layer may reuse what the previous one is done with.
   * A request larger than the buffer so far takes a new one.
   */
  shared(key: string, bytes: number, label?: string): GPUBuffer {
    const have = this.sharedScratch.get(key);
    if (have && have.bytes >= bytes) return have.buffer;
    const buffer = this.temp(bytes, label ?? key);
    this.sharedScratch.set(key, { buffer, bytes });
    return buffer;
  }

  /** Copies `size` bytes out of `src` at the end of the step. */
  read(src: GPUBuffer, offset = 0, size = src.size - offset): Readback {
    this.assertOpen();
    const padded = Math.ceil(size / 4) * 4;
    const staging = this.ctx.pool.acquire(padded, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
    this.copy(src, offset, staging, 0, padded);
    const rb = new Readback(staging, size);
    this.readbacks.push(rb);
    return rb;
  }

  /** Encodes everything recorded, submits once, and surfaces validation / OOM errors as typed errors. */
  async submit(): Promise<void> {
    this.assertOpen();
    this.submitted = true;
    const { device, pipelines } = this.ctx;
    const { dispatches } = this;
    // Every pipeline is usually compiled already: found on the tape of the last step this long, else looked
    // up without a promise per dispatch (and then put on the tape).
    const tape = this.ctx.tapes.forLength(dispatches.length);
    let compiled: (CachedPipeline | undefined)[] = new Array<CachedPipeline | undefined>(dispatches.length);
    let missing = false;
    for (let i = 0; i < dispatches.length; i++) {
      const d = dispatches[i];
      let found = tape.pipeline(i, d.def, d.constants);
      if (!found) {
        found = pipelines.peek(d.def, d.constants);
        if (found) tape.setPipeline(i, d.def, d.constants, found);
        else missing = true;
      }
      compiled[i] = found;
    }
    if (missing) {
      compiled = await Promise.all(dispatches.map((d) => pipelines.get(d.def, d.constants)));
      dispatches.forEach((d, i) => tape.setPipeline(i, d.def, d.constants, compiled[i]!));
    }

    let uniforms: GPUBuffer | undefined;
    if (this.paramsBytes > 0) {
      uniforms = this.ctx.uniforms.buffer(this.paramsBytes);
      device.queue.writeBuffer(uniforms, 0, this.staging, 0, this.paramsBytes);
    }

    let queued = false;
    try {
      await this.ctx.guard(async () => {
        this.encodeAndSubmit(compiled as CachedPipeline[], uniforms, tape);
        queued = true;
      });
    } catch (err) {
      // Nothing reached the queue (an allocation the device refused, a validation error): free this step's
      // buffers now, so a caller that retries with less (e.g. no reference pass) gets the memory back.
      if (!queued) this.discard();
      throw err;
    }
  }

  /** Encodes every command into one encoder, submits it and hands the step's buffers back to the pool. */
  private encodeAndSubmit(compiled: readonly CachedPipeline[], uniforms: GPUBuffer | undefined, tape: DispatchTape): void {
    const { device, pool, bindGroups } = this.ctx;
    const encoder = device.createCommandEncoder();
    let pass: GPUComputePassEncoder | undefined;
    let di = 0;
    let current: GPUComputePipeline | undefined;
    const offsets = [0]; // the one dynamic offset (the parameter block's), reused: setBindGroup copies it
    for (const cmd of this.cmds) {
      if (cmd.kind === 'dispatch') {
        const { pipeline, layout } = compiled[di++];
        if (this.timer) {
          pass?.end();
          pass = encoder.beginComputePass({ timestampWrites: this.timer.next(cmd.def.name) });
          current = undefined;
        }
        if (!pass) {
          pass = encoder.beginComputePass();
          current = undefined;
        }
        // A pass keeps its pipeline: consecutive dispatches of one kernel variant set it once (each call
        // into dawn.node costs a few microseconds).
        if (pipeline !== current) pass.setPipeline((current = pipeline));
        const i = di - 1;
        let group = tape.group(i, cmd.bindings, uniforms, cmd.paramsSize);
        if (!group) {
          group = bindGroups.forDispatch(layout, cmd.def.bindings, cmd.bindings, uniforms, cmd.paramsSize);
          tape.setGroup(i, group, cmd.bindings, uniforms, cmd.paramsSize);
        }
        if (cmd.paramsOffset === NO_PARAMS) pass.setBindGroup(0, group);
        else {
          offsets[0] = cmd.paramsOffset;
          pass.setBindGroup(0, group, offsets);
        }
        const [x, y, z] = cmd.workgroups;
        if (x * y * z > 0) pass.dispatchWorkgroups(x, y, z);
      } else {
        pass?.end();
        pass = undefined;
        if (cmd.kind === 'copy') encoder.copyBufferToBuffer(cmd.src, cmd.srcOffset, cmd.dst, cmd.dstOffset, cmd.size);
        else encoder.clearBuffer(cmd.buffer, cmd.offset, cmd.size);
      }
    }
    pass?.end();
    this.timer?.resolve(encoder);
    device.queue.submit([encoder.finish()]);
    this.queuedAt = performance.now();
    // Released last-first: the pool pops last-in first, so the next step of the same shape gets every
    // temporary back in the same role, and its bind groups are the cached ones.
    for (let i = this.temps.length - 1; i >= 0; i--) pool.release(this.temps[i]);
    for (const rb of this.readbacks) rb.start((b) => pool.release(b));
  }

  /** Destroys the buffers of a step that never reached the queue. */
  private discard(): void {
    for (const t of this.temps) t.destroy();
    for (const rb of this.readbacks) rb.staging.destroy();
  }

  private assertOpen(): void {
    if (this.submitted) throw new Error('StepEncoder already submitted; start a new step');
  }
}
