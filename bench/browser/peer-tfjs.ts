// The peer: TensorFlow.js's WebGPU backend on the same adapter, in the same page, after our side has
// finished and destroyed its device. Same shapes and same data as ours, f32 only (tfjs has no packed-f16
// weights): tf.matMul(a, b, false, true) with b (n, k).
//
// Fair to the peer: the inputs are uploaded during the warm-up and stay on the GPU; a timed repetition
// enqueues r products (each output disposed at once, which tfjs defers until its submit), flushes tfjs's
// pending command encoder, and awaits onSubmittedWorkDone on tfjs's own GPUDevice; nothing is read back.

import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import {
  DeadlineError,
  gflops,
  productDeadlineS,
  PROXY_WARMUP_ABOVE_S,
  proxyColumns,
  timeRuns,
  withDeadline,
  type TimingHooks,
} from '../core/measure';
import { checkRows, makeMatrices, maxRelError, tolerance } from '../core/reference';
import { MATMUL_SHAPES, type BenchOptions, type Log, type MatmulRun, type PeerReport } from '../core/types';

type Tf = typeof import('@tensorflow/tfjs-core');

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export async function runPeer(options: BenchOptions, log: Log): Promise<PeerReport> {
  const report: PeerReport = {
    name: 'TensorFlow.js WebGPU backend',
    available: false,
    matmul: [],
  };
  let tf: Tf;
  let backend: WebGPUBackend;
  try {
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    report.name = `TensorFlow.js ${tf.version_core} WebGPU backend`;
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed (no WebGPU adapter for tfjs?)");
    await tf.ready();
    backend = tf.backend() as WebGPUBackend;
    if (tf.getBackend() !== 'webgpu' || !backend.device) throw new Error(`tfjs runs on '${tf.getBackend()}', not webgpu`);
  } catch (err) {
    report.error = message(err);
    log(`peer: cannot start: ${report.error}`);
    return report;
  }
  report.available = true;
  const info = (backend as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
  report.adapter = { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '' };

  const device = backend.device;
  let gpuError: string | undefined;
  device.addEventListener('uncapturederror', (ev) => {
    gpuError ??= (ev as GPUUncapturedErrorEvent).error.message;
  });
  void device.lost.then((lost) => {
    gpuError ??= `device lost: ${lost.message}`;
  });
  const flush = () => {
    const open = (backend as unknown as { commandEncoder: GPUCommandEncoder | null }).commandEncoder;
    if (open) {
      backend.endComputePassEncoder();
      backend.submitQueue();
    }
  };

  let rateSoFar = 0;
  const shapes = MATMUL_SHAPES.map((s, i) => ({ ...s, index: i })).filter(
    (s) => options.shapes.length === 0 || options.shapes.includes(s.index),
  );
  let hung = false;
  for (const shape of shapes) {
    const { m, k, n } = shape;
    const flops = 2 * m * k * n;
    const entry: MatmulRun = { m, k, n, b_format: 'f32', variant: 'tf.matMul', gflops: null };
    report.matmul.push(entry);
    if (hung) {
      entry.error = 'not run: an earlier product hung';
      continue;
    }
    const tag = `peer ${m}x${k}x${n} B f32`;
    if (rateSoFar && flops / (rateSoFar * 1e9) > options.maxRunS) {
      const s = flops / (rateSoFar * 1e9);
      entry.skipped = `one product projected at ${s.toFixed(0)} s (> ${options.maxRunS} s; --full runs it)`;
      log(`${tag}: skipped, ${entry.skipped}`);
      continue;
    }
    const { a, b } = makeMatrices(m, k, n, 1000 + shape.index);
    const ta = tf.tensor2d(a, [m, k]);
    const tb = tf.tensor2d(b, [n, k]);
    gpuError = undefined;
    let last: ReturnType<Tf['matMul']> | undefined;
    try {
      const run = async (r: number) => {
        for (let i = 0; i < r; i++) {
          // Outputs are disposed at once (tfjs defers that until its submit); the last one is kept for the check.
          last?.dispose();
          last = tf.matMul(ta, tb, false, true);
        }
        flush();
        await device.queue.onSubmittedWorkDone();
        if (gpuError) throw new Error(`WebGPU error in tfjs: ${gpuError}`);
      };
      const verify = async () => {
        const rows = checkRows(m);
        const got: Float32Array[] = [];
        for (const row of rows) {
          const slice = tf.slice(last!, [row, 0], [1, n]);
          got.push((await slice.data()) as Float32Array);
          slice.dispose();
        }
        entry.max_rel_err = maxRelError(a, b, k, n, rows, got);
        entry.ok = entry.max_rel_err <= tolerance('f32');
        if (!entry.ok) log(`${tag}: WRONG RESULT, max relative error ${entry.max_rel_err.toExponential(2)}`);
      };
      const pipelines = (backend as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache;
      const hooks: TimingHooks = { verify, compiled: () => Object.keys(pipelines).length };
      if (rateSoFar && flops / (rateSoFar * 1e9) > PROXY_WARMUP_ABOVE_S) {
        // Too long to run twice: warm up (uploads, compilation) on the first n' rows of B.
        hooks.warmup = async () => {
          const part = tf.slice(tb, [0, 0], [proxyColumns(n), k]);
          tf.matMul(ta, part, false, true).dispose();
          part.dispose();
          flush();
          await device.queue.onSubmittedWorkDone();
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
      rateSoFar = Math.max(rateSoFar, entry.gflops);
      log(
        `${tag}: ${entry.gflops.toFixed(2)} GFLOP/s (best of ${timing.samples.length}, ` +
          `${(timing.bestS * 1e3).toFixed(2)} ms; warm-up ${timing.warmupS.toFixed(2)} s)`,
      );
    } catch (err) {
      entry.error = message(err);
      if (err instanceof DeadlineError) entry.hung = hung = true;
      log(`${tag}: error: ${entry.error}`);
    } finally {
      last?.dispose();
      ta.dispose();
      tb.dispose();
    }
  }
  return report;
}
