// Our matmul dispatcher (src/engine/ops/gpu/matmul.ts) on the benchmark shapes: C (m, n) = A (m, k) @ B^T
// with B stored (n, k) like a PyTorch Linear weight (transB), B in f32 and, for the weight shapes, packed
// f16. Each product's output is checked on sampled rows against a float64 CPU reference (untimed, after
// the first timed run).

import type { GpuContext } from '../../src/engine/gpu/context';
import type { StepEncoder } from '../../src/engine/gpu/step-encoder';
import { packF16 } from '../../src/engine/gpu/f16';
import { matmul, matmulVariants, type MatrixFormat } from '../../src/engine/ops/gpu/matmul';
import {
  DeadlineError,
  gflops,
  productDeadlineS,
  PROXY_WARMUP_ABOVE_S,
  proxyColumns,
  timeRuns,
  withDeadline,
  type TimingHooks,
} from './measure';
import { checkRows, makeMatrices, maxRelError, tolerance } from './reference';
import { MATMUL_SHAPES, type BenchOptions, type Log, type MatmulRun } from './types';

export async function benchOurMatmul(ctx: GpuContext, options: BenchOptions, log: Log): Promise<MatmulRun[]> {
  const runs: MatmulRun[] = [];
  /** Best rate so far per B format: a product projected to run longer than maxRunS is skipped. */
  const rate = new Map<string, number>();
  const shapes = MATMUL_SHAPES.map((s, i) => ({ ...s, index: i })).filter(
    (s) => options.shapes.length === 0 || options.shapes.includes(s.index),
  );
  /** Set once a product hung: the device may be wedged, so the rest are listed but not run. */
  let hung = false;
  for (const shape of shapes) {
    const { m, k, n } = shape;
    const { a, b } = hung ? { a: new Float32Array(0), b: new Float32Array(0) } : makeMatrices(m, k, n, 1000 + shape.index);
    const formats: MatrixFormat[] = options.f16 && shape.f16 ? ['f32', 'f16'] : ['f32'];
    for (const bFormat of formats) {
      const variants = options.variants ? ['auto', ...matmulVariants(ctx)] : ['auto'];
      for (const variant of variants) {
        if (hung) {
          runs.push({ m, k, n, b_format: bFormat, variant, gflops: null, error: 'not run: an earlier product hung' });
          continue;
        }
        const run = await benchOne(ctx, options, log, a, b, m, k, n, bFormat, variant, rate.get(bFormat));
        runs.push(run);
        if (run.hung) hung = true;
        if (run.gflops !== null && variant === 'auto') rate.set(bFormat, Math.max(rate.get(bFormat) ?? 0, run.gflops));
      }
    }
  }
  return runs;
}

/** Reports the kernels the dispatcher recorded into this step, joined with '+' (e.g. a widening prepass). */
function watchKernel(step: StepEncoder, seen: (name: string) => void): void {
  const dispatch = step.dispatch.bind(step);
  const names = new Set<string>(); // repeated products in one step dispatch the same kernels again
  step.dispatch = (def, ...rest) => {
    names.add(`${def.name}:${def.entryPoint}`);
    seen([...names].join(' + '));
    dispatch(def, ...rest);
  };
}

async function benchOne(
  ctx: GpuContext,
  options: BenchOptions,
  log: Log,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  bFormat: MatrixFormat,
  variant: string,
  rateSoFar: number | undefined,
): Promise<MatmulRun> {
  const flops = 2 * m * k * n;
  const entry: MatmulRun = { m, k, n, b_format: bFormat, variant, gflops: null };
  const tag = `ours ${m}x${k}x${n} B ${bFormat}${variant === 'auto' ? '' : ` [${variant}]`}`;
  if (rateSoFar && flops / (rateSoFar * 1e9) > options.maxRunS) {
    const s = flops / (rateSoFar * 1e9);
    entry.skipped = `one product projected at ${s.toFixed(0)} s (> ${options.maxRunS} s; --full runs it)`;
    log(`${tag}: skipped, ${entry.skipped}`);
    return entry;
  }
  const bufA = ctx.upload(a, 'bench.A');
  const bufB = bFormat === 'f16' ? ctx.upload(packF16(b), 'bench.B.f16') : ctx.upload(b, 'bench.B');
  const bufC = ctx.createBuffer(m * n * 4, 'bench.C');
  const dims = { m, k, n, transB: true };
  const opts = variant === 'auto' ? { bFormat } : { bFormat, variant };
  try {
    const run = async (r: number) => {
      const step = ctx.step();
      if (!entry.kernel) watchKernel(step, (name) => (entry.kernel = name));
      for (let i = 0; i < r; i++) matmul(step, bufC, bufA, bufB, dims, opts);
      await step.submit();
      await ctx.device.queue.onSubmittedWorkDone();
    };
    const verify = async () => {
      const rows = checkRows(m);
      const got = await Promise.all(rows.map((row) => ctx.readF32(bufC, n, row * n)));
      entry.max_rel_err = maxRelError(a, b, k, n, rows, got);
      entry.ok = entry.max_rel_err <= tolerance(bFormat);
      if (!entry.ok) log(`${tag}: WRONG RESULT, max relative error ${entry.max_rel_err.toExponential(2)}`);
    };
    const hooks: TimingHooks = { verify, compiled: () => ctx.pipelines.size };
    if (rateSoFar && flops / (rateSoFar * 1e9) > PROXY_WARMUP_ABOVE_S) {
      // Too long to run twice: warm up on the first n' columns (rows of B, a prefix of C).
      const proxy = { ...dims, n: proxyColumns(n) };
      hooks.warmup = async () => {
        const step = ctx.step();
        matmul(step, bufC, bufA, bufB, proxy, opts);
        await step.submit();
        await ctx.device.queue.onSubmittedWorkDone();
      };
    }
    const timing = await withDeadline(
      timeRuns(
        run,
        { budgetS: options.budgetS, targetRepS: options.targetRepS, maxR: 2000, maxSamples: options.maxSamples },
        hooks,
      ),
      productDeadlineS(options.maxRunS, options.budgetS),
      tag,
    );
    entry.timing = timing;
    entry.gflops = gflops(flops, timing.bestS);
    log(
      `${tag}: ${entry.gflops.toFixed(2)} GFLOP/s with ${entry.kernel} (best of ${timing.samples.length}, ` +
        `${(timing.bestS * 1e3).toFixed(2)} ms; warm-up ${timing.warmupS.toFixed(2)} s)`,
    );
  } catch (err) {
    entry.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (err instanceof DeadlineError) entry.hung = true;
    log(`${tag}: error: ${entry.error}`);
  } finally {
    bufA.destroy();
    bufB.destroy();
    bufC.destroy();
  }
  return entry;
}
