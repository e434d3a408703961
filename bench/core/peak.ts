// The adapter's f32 compute peak, measured with shaders/bench_fma.wgsl: independent vec4 FMA chains in
// registers, one store per invocation. Several (chains, workgroup size) pairs are tried and the best kept,
// so the peak is not understated by one unlucky configuration.
//
// Per configuration: start at 64 workgroups x 256 iterations; double the workgroup count (up to 2^20
// invocations, enough to fill any GPU) and then the iteration count until one dispatch takes at least
// CALIBRATE_S; then time single dispatches (submit + onSubmittedWorkDone) and keep the best.
// GFLOP/s = 2 * 4 * chains * iterations * invocations / seconds.

import source from '../../shaders/bench_fma.wgsl?raw';
import type { GpuContext } from '../../src/engine/gpu/context';
import { defineKernel, grid1d, packParams, type KernelDef } from '../../src/engine/gpu/kernel';
import { gflops, now, timeRuns } from './measure';
import type { Log, PeakReport, PeakTrial } from './types';

const CHAINS = [2, 4, 8, 16] as const;
const MUL = 0.999;
const ADD = 0.001;
const CALIBRATE_S = 0.06;
const MAX_INVOCATIONS = 1 << 20;
const MAX_ITERS = 1 << 22;

const kernels = new Map<number, KernelDef>(
  CHAINS.map((c) => [c, defineKernel(`bench_fma.${c}`, source, `fma${c}`, ['write', 'uniform'])]),
);

/** What invocation i should store, replayed on the CPU in f32 (fma or mul-then-add: both within tolerance). */
function replay(i: number, chains: number, iters: number): number {
  const f = Math.fround;
  const total = [0, 0, 0, 0];
  // Every chain converges to a / (1 - m) = 1; after 20000 rounds (0.999^20000 ~ 2e-9) nothing changes.
  const rounds = Math.min(iters, 20000);
  for (let c = 0; c < chains; c++) {
    const x = f(((i * 7 + c * 13) & 1023) * 0.0001);
    const lanes = [x, f(x + 0.25), f(x + 0.5), f(x + 0.75)];
    for (let l = 0; l < 4; l++) {
      let v = lanes[l];
      for (let t = 0; t < rounds; t++) v = f(v * f(MUL) + f(ADD));
      total[l] += v;
    }
  }
  return total.reduce((s, v) => s + v, 0);
}

export async function measurePeak(ctx: GpuContext, log: Log, quick = false): Promise<PeakReport> {
  const maxWg = ctx.limits.maxComputeInvocationsPerWorkgroup;
  const configs: [number, number][] = [];
  for (const chains of CHAINS) configs.push([chains, 64]);
  for (const chains of [4, 8]) if (maxWg >= 256) configs.push([chains, 256]);
  const out = ctx.createBuffer(MAX_INVOCATIONS * 4, 'bench_fma.out');
  const trials: PeakTrial[] = [];
  let verified = true;
  try {
    for (const [chains, wg] of quick ? configs.slice(1, 3) : configs) {
      const def = kernels.get(chains)!;
      let workgroups = 64;
      let iters = 256;
      const dispatch = async (r: number) => {
        const step = ctx.step();
        const params = packParams([
          ['u32', iters],
          ['f32', MUL],
          ['f32', ADD],
        ]);
        for (let i = 0; i < r; i++) step.dispatch(def, [out], grid1d(workgroups), params, { WG: wg });
        await step.submit();
        await ctx.device.queue.onSubmittedWorkDone();
      };
      await dispatch(1); // compile
      for (;;) {
        const t = now();
        await dispatch(1);
        if (now() - t >= CALIBRATE_S) break;
        if (workgroups * wg < MAX_INVOCATIONS) workgroups *= 2;
        else if (iters < MAX_ITERS) iters *= 2;
        else break;
      }
      const timing = await timeRuns(dispatch, { budgetS: 1, targetRepS: CALIBRATE_S, maxR: 1, maxSamples: 4 });
      const flops = 2 * 4 * chains * iters * workgroups * wg;
      const trial: PeakTrial = { chains, wg, workgroups, iters, gflops: gflops(flops, timing.bestS), bestS: timing.bestS };
      trials.push(trial);
      log(
        `peak: ${chains} vec4 chains, workgroup ${wg}, ${workgroups} workgroups x ${iters} iterations: ` +
          `${trial.gflops.toFixed(2)} GFLOP/s`,
      );
      const got = await ctx.readF32(out, 1);
      const want = replay(0, chains, iters);
      if (!(Math.abs(got[0] - want) <= 1e-3 * Math.abs(want))) {
        verified = false;
        log(`peak: invocation 0 stored ${got[0]}, the CPU replay gives ${want}: the work did not run as written`);
      }
    }
  } finally {
    out.destroy();
  }
  const best = trials.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  return { gflops: best.gflops, best, trials, verified };
}
