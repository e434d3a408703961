// Opt-in timing (TUNELAB_BENCH_DECODE=1): ms per decode attention call of the old path (attentionForward
// with Tq = 1, the variant the adapter prefers) against attentionDecode, at the head shapes of SmolLM2-135M,
// Qwen2.5-0.5B and a D = 128 model, Tk = 256 and 1024. A sample is "record `reps` calls, submit, await
// queue.onSubmittedWorkDone()", divided by reps; the best of several samples is printed. On a software
// adapter these are CPU-emulation figures: only the ratios mean anything.
//
//   TUNELAB_BENCH_DECODE=1 scripts/gpu-env.sh npx vitest run tests/gpu/attention-decode-bench.test.ts --project gpu

import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import type { StepEncoder } from '../../src/engine/gpu/step-encoder';
import { attentionForward, preferredAttentionTuning, type AttentionVariant } from '../../src/engine/ops/gpu/attention';
import { attentionDecode, decodeWorkspaceBytes, type DecodeTuning } from '../../src/engine/ops/gpu/attention-decode';
import { Rng } from '../../src/engine/util/rng';
import { worstRowError } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

const SHAPES = [
  { name: 'SmolLM2-135M', hq: 9, hkv: 3, headDim: 64 },
  { name: 'Qwen2.5-0.5B', hq: 14, hkv: 2, headDim: 64 },
  { name: 'Hq=16 Hkv=8 D=128', hq: 16, hkv: 8, headDim: 128 },
];
const KEY_COUNTS = [256, 1024];
const REPS = 5;
const SAMPLES = 5;

interface Sample {
  /** Wall-clock ms per call. */
  ms: number;
  /** CPU ms per call of this process, every thread (the emulator's workers included): steadier on a busy machine. */
  cpuMs: number;
}

/** Records one sample: `REPS` calls, one submit, until the queue is idle. */
async function sample(ctx: GpuContext, record: (step: StepEncoder) => void): Promise<Sample> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const step = ctx.step();
  for (let r = 0; r < REPS; r++) record(step);
  await step.submit();
  await ctx.device.queue.onSubmittedWorkDone();
  const c = process.cpuUsage(c0);
  return { ms: (performance.now() - t0) / REPS, cpuMs: (c.user + c.system) / 1000 / REPS };
}

/** Best sample of each contender, their samples interleaved (a busy machine slows all alike), one warm-up each. */
async function bestOfInterleaved(ctx: GpuContext, contenders: ((step: StepEncoder) => void)[]): Promise<Sample[]> {
  const best = contenders.map(() => ({ ms: Infinity, cpuMs: Infinity }));
  for (let s = 0; s <= SAMPLES; s++) {
    for (const [i, record] of contenders.entries()) {
      const x = await sample(ctx, record);
      if (s === 0) continue;
      best[i].ms = Math.min(best[i].ms, x.ms);
      best[i].cpuMs = Math.min(best[i].cpuMs, x.cpuMs);
    }
  }
  return best;
}

describe.runIf(process.env.TUNELAB_BENCH_DECODE)('decode attention timing', () => {
  it('old path (attentionForward, Tq = 1) against attentionDecode', { timeout: 1_800_000 }, async () => {
    const ctx = await testGpu();
    const tunings = process.env.TUNELAB_DECODE_TUNINGS ? (JSON.parse(process.env.TUNELAB_DECODE_TUNINGS) as DecodeTuning[]) : [{}];
    // The variant the adapter picks, and 'direct' (software adapters' pick before 'matmul') where it differs.
    const preferred = preferredAttentionTuning(ctx.adapter, 64).variant ?? 'tiled'; // every shape here has D >= 64
    const variants = [...new Set<AttentionVariant>([preferred, 'direct'])];
    const rows = [`adapter: ${ctx.adapter.description || ctx.adapter.architecture}; old: attentionForward ${variants.join(', ')}; decode tunings ${JSON.stringify(tunings)}`];
    const only = process.env.TUNELAB_DECODE_SHAPE; // a substring of a shape's name, to time that one alone
    for (const shape of SHAPES.filter((x) => !only || x.name.includes(only))) {
      for (const tk of KEY_COUNTS) {
        const dims = { batch: 1, tk, hq: shape.hq, hkv: shape.hkv, headDim: shape.headDim };
        const n = shape.hq * shape.headDim;
        const rng = new Rng(tk);
        const q = ctx.upload(rng.f32(n, -2, 2));
        const k = ctx.upload(rng.f32(tk * shape.hkv * shape.headDim, -2, 2));
        const v = ctx.upload(rng.f32(tk * shape.hkv * shape.headDim));
        const outs = [...variants, ...tunings].map(() => ctx.createBuffer(n * 4));
        const lse = ctx.createBuffer(shape.hq * 4);
        const workspaces = tunings.map((t) => {
          const need = decodeWorkspaceBytes(dims, t);
          return { acc: ctx.createBuffer(Math.max(need.acc, 16)), stats: ctx.createBuffer(Math.max(need.stats, 16)) };
        });
        const samples = await bestOfInterleaved(ctx, [
          ...variants.map((variant, i) => (step: StepEncoder) => attentionForward(step, outs[i], lse, q, k, v, { ...dims, tq: 1 }, {}, { variant })),
          ...tunings.map((t, i) => (step: StepEncoder) => attentionDecode(step, { out: outs[variants.length + i], lse }, q, k, v, dims, {}, t, workspaces[i])),
        ]);
        // What was timed computed the same attention.
        const results = await Promise.all(outs.map((b) => ctx.readF32(b, n)));
        for (const r of results.slice(1)) expect(worstRowError(r, results[0], shape.headDim)).toBeLessThan(1e-5);
        for (const b of [q, k, v, lse, ...outs, ...workspaces.flatMap((w) => [w.acc, w.stats])]) b.destroy();

        const old = samples[0];
        const figures = (x: Sample) => `${x.ms.toFixed(2)} ms (cpu ${x.cpuMs.toFixed(2)})`;
        const versus = (x: Sample) => `${figures(x)} ${(old.ms / x.ms).toFixed(2)}x (cpu ${(old.cpuMs / x.cpuMs).toFixed(2)}x)`;
        const others = variants.slice(1).map((name, i) => `${name} ${versus(samples[1 + i])}`);
        const decodes = samples.slice(variants.length).map((x) => `decode ${versus(x)}`);
        rows.push(`${shape.name.padEnd(18)} Tk=${String(tk).padEnd(5)} ${preferred} ${figures(old)} | ${[...others, ...decodes].join(' | ')}`);
      }
    }
    console.log(rows.join('\n'));
  });
});
