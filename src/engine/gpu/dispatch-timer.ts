// GPU time of every dispatch of a step, from timestamp queries (the 'timestamp-query' feature): the step is
// encoded with one compute pass per dispatch, each writing a timestamp when it begins and ends. Used by the
// benchmark to see where a training step's GPU time goes; passes split this way cost a little more than one
// pass, so the profiled step is not a timed one.

import type { GpuContext } from './context';

/** GPU nanoseconds per kernel label, summed over the profiled dispatches. */
export interface KernelTime {
  label: string;
  dispatches: number;
  ns: number;
}

/** Queries per query set: the WebGPU default limit (maxQuerySetSize is not a limit one can raise). */
const QUERIES_PER_SET = 4096;

export class DispatchTimer {
  private readonly sets: GPUQuerySet[] = [];
  private readonly labels: string[] = [];
  private resolved: GPUBuffer | undefined;
  private staging: GPUBuffer | undefined;

  private readonly device: GPUDevice;

  /** Its buffers are the context's (counted in ctx.memory). */
  constructor(private readonly ctx: GpuContext) {
    this.device = ctx.device;
    if (!this.device.features.has('timestamp-query')) throw new Error('DispatchTimer needs the timestamp-query feature');
  }

  /** The timestamp writes for the next dispatch, labelled for the report. */
  next(label: string): GPUComputePassTimestampWrites {
    const index = this.labels.length * 2;
    const set = Math.floor(index / QUERIES_PER_SET);
    while (this.sets.length <= set) this.sets.push(this.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET }));
    this.labels.push(label);
    const local = index % QUERIES_PER_SET;
    return { querySet: this.sets[set], beginningOfPassWriteIndex: local, endOfPassWriteIndex: local + 1 };
  }

  /** Resolves every query into a buffer and copies it out; call at the end of the encoder. */
  resolve(encoder: GPUCommandEncoder): void {
    const queries = this.labels.length * 2;
    const bytes = Math.max(8, this.sets.length * QUERIES_PER_SET * 8);
    this.resolved = this.ctx.createBuffer(bytes, 'timestamps', GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
    this.staging = this.ctx.createBuffer(bytes, 'timestamps readback', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    this.sets.forEach((set, i) => {
      const count = Math.min(QUERIES_PER_SET, queries - i * QUERIES_PER_SET);
      encoder.resolveQuerySet(set, 0, count, this.resolved!, i * QUERIES_PER_SET * 8);
    });
    encoder.copyBufferToBuffer(this.resolved, 0, this.staging, 0, bytes);
  }

  /** Per label, in decreasing total time; call after the step's submit. */
  async times(): Promise<KernelTime[]> {
    if (!this.staging) throw new Error('DispatchTimer.times() before the step was encoded');
    await this.staging.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(this.staging.getMappedRange().slice(0));
    this.staging.unmap();
    this.staging.destroy();
    this.resolved?.destroy();
    for (const set of this.sets) set.destroy();
    const byLabel = new Map<string, KernelTime>();
    this.labels.forEach((label, i) => {
      const ns = Number(stamps[2 * i + 1] - stamps[2 * i]);
      const t = byLabel.get(label) ?? { label, dispatches: 0, ns: 0 };
      t.dispatches++;
      t.ns += Math.max(0, ns);
      byLabel.set(label, t);
    });
    return [...byLabel.values()].sort((a, b) => b.ns - a.ns);
  }
}
