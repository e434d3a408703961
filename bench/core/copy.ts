// Device-memory copy bandwidth over one large buffer, two ways: copyBufferToBuffer, and the vec4 copy
// shader shaders/bench_copy.wgsl (1 and 4 vec4s per invocation). The best method is reported.
// Bytes counted: read + write, i.e. 2 x size per copy; GB = 1e9 bytes.

import source from '../../shaders/bench_copy.wgsl?raw';
import type { GpuContext } from '../../src/engine/gpu/context';
import { ceilDiv, defineKernel, grid1d, packParams } from '../../src/engine/gpu/kernel';
import { timeRuns } from './measure';
import type { CopyMethod, CopyReport, Log } from './types';

const COPY = defineKernel('bench_copy', source, 'copy', ['read', 'write', 'uniform']);
const MAX_BYTES = 256 * 1024 * 1024;
const WG = 256;

export async function measureCopy(ctx: GpuContext, log: Log): Promise<CopyReport> {
  const lim = ctx.limits;
  const bytes = Math.floor(Math.min(MAX_BYTES, lim.maxStorageBufferBindingSize, lim.maxBufferSize) / 256) * 256;
  const n4 = bytes / 16;
  const src = ctx.createBuffer(bytes, 'bench_copy.src');
  const dst = ctx.createBuffer(bytes, 'bench_copy.dst');
  // Marks at both ends, checked in dst after the first timed copy of each method.
  const head = Float32Array.from({ length: 64 }, (_, i) => i + 1);
  const tail = Float32Array.from({ length: 64 }, (_, i) => -(i + 1));
  ctx.write(src, head, 0);
  ctx.write(src, tail, bytes - tail.byteLength);
  const zeros = new Float32Array(64);

  let verified = true;
  const check = async (method: string) => {
    const a = await ctx.readF32(dst, 64, 0);
    const b = await ctx.readF32(dst, 64, (bytes - tail.byteLength) / 4);
    if (a.some((v, i) => v !== head[i]) || b.some((v, i) => v !== tail[i])) {
      verified = false;
      log(`copy: ${method} did not copy the buffer`);
    }
    // Clear the marks so the next method proves itself.
    ctx.write(dst, zeros, 0);
    ctx.write(dst, zeros, bytes - zeros.byteLength);
  };

  const methods: { name: string; record: (step: ReturnType<GpuContext['step']>) => void }[] = [
    { name: 'copyBufferToBuffer', record: (step) => step.copy(src, 0, dst, 0, bytes) },
  ];
  for (const vpt of [1, 4]) {
    const params = packParams([['u32', n4]]);
    const grid = grid1d(ceilDiv(n4, WG * vpt));
    methods.push({
      name: `vec4 shader (${vpt} per invocation)`,
      record: (step) => step.dispatch(COPY, [src, dst], grid, params, { WG, VPT: vpt }),
    });
  }

  const results: CopyMethod[] = [];
  try {
    for (const { name, record } of methods) {
      const run = async (r: number) => {
        const step = ctx.step();
        for (let i = 0; i < r; i++) record(step);
        await step.submit();
        await ctx.device.queue.onSubmittedWorkDone();
      };
      const timing = await timeRuns(run, { budgetS: 1.2, targetRepS: 0.15, maxR: 1000, maxSamples: 5 }, {
        verify: () => check(name),
      });
      const gbps = (2 * bytes) / timing.bestS / 1e9;
      results.push({ method: name, gbps, bestS: timing.bestS, r: timing.r });
      log(`copy: ${name}, ${(bytes / 2 ** 20).toFixed(0)} MiB: ${gbps.toFixed(2)} GB/s (read + write)`);
    }
  } finally {
    src.destroy();
    dst.destroy();
  }
  const best = results.reduce((a, b) => (b.gbps > a.gbps ? b : a));
  return {
    gbps: best.gbps,
    bytes,
    counted: 'read + write: 2 x buffer size per copy, GB = 1e9 bytes',
    best: best.method,
    methods: results,
    verified,
  };
}
