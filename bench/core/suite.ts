// Our side of the benchmark, the same code in the bench page (navigator.gpu) and on dawn.node:
// adapter report, compute peak, copy bandwidth, then our matmul on every shape, then (options.train) LoRA
// training steps (SFT and DPO, DPO's step cost checked against SFT's), then (options.eval) multiple-choice
// scoring with and without the shared context, then (options.grpo) GRPO steps' rollout and training
// tokens/s, then (options.decode) greedy decode tokens/s against the bandwidth bound from the copy above,
// all on one device so the training, eval and decode figures compare with the peak, copy and matmuls
// above. One thing at a time.

import { acquireGpu, type GpuContext } from '../../src/engine/gpu/context';
import { measureCopy } from './copy';
import { dpoCostChecks } from './dpo-cost';
import { errorText, withDeadline } from './measure';
import { measurePeak } from './peak';
import type { TrainModelSources } from './train-bench';
import type { AdapterReport, BenchOptions, Log, OursReport } from './types';

export function describeAdapter(adapter: GPUAdapter, runtime: string): AdapterReport {
  const info = adapter.info;
  const legacy = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const fromInfo = (info as unknown as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter;
  const limits: Record<string, number> = {};
  for (const name of [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupsPerDimension',
  ] as const) {
    limits[name] = adapter.limits[name];
  }
  return {
    runtime,
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: Boolean(fromInfo ?? legacy ?? false),
    features: [...(adapter.features as ReadonlySet<string>)].sort(),
    limits,
  };
}

export async function runOurs(
  gpu: GPU | undefined,
  options: BenchOptions,
  runtime: string,
  log: Log,
  trainSources?: TrainModelSources,
): Promise<OursReport> {
  const report: OursReport = { adapter: null, peak: null, copy: null, matmul: [], train: [], trainDpoCost: [], eval: [], grpo: [], decode: [], errors: [] };
  let ctx: GpuContext;
  try {
    const adapter = await gpu?.requestAdapter({ powerPreference: 'high-performance' });
    if (adapter) report.adapter = describeAdapter(adapter, runtime);
    ctx = await acquireGpu(gpu);
  } catch (err) {
    report.errors.push(`acquireGpu: ${errorText(err)}`);
    return report;
  }
  try {
    if (!options.skipPeak) {
      try {
        report.peak = await withDeadline(measurePeak(ctx, log), 180, 'peak');
      } catch (err) {
        report.errors.push(`peak: ${errorText(err)}`);
        log(`peak: error: ${errorText(err)}`);
      }
    }
    if (!options.skipCopy) {
      try {
        report.copy = await withDeadline(measureCopy(ctx, log), 180, 'copy');
      } catch (err) {
        report.errors.push(`copy: ${errorText(err)}`);
        log(`copy: error: ${errorText(err)}`);
      }
    }
    try {
      // Loaded on demand: a missing or broken dispatcher costs the matmul rows, not the whole bench.
      const { benchOurMatmul } = await import('./ours-matmul');
      report.matmul = await benchOurMatmul(ctx, options, log);
    } catch (err) {
      report.errors.push(`matmul: ${errorText(err)}`);
      log(`matmul: error: ${errorText(err)}`);
    }
    // `?.`: callers built before the training section (bench/results/device/drive.mjs) pass no `train`.
    if (options.train?.enabled) {
      try {
        const { benchTraining } = await import('./train-bench');
        report.train = await benchTraining(ctx, options.train, trainSources ?? {}, log);
        report.trainDpoCost = dpoCostChecks(report.train);
        for (const run of report.train) if (run.error) report.errors.push(`train ${run.model}: ${run.error}`);
      } catch (err) {
        report.errors.push(`train: ${errorText(err)}`);
        log(`train: error: ${errorText(err)}`);
      }
    }
    if (options.eval?.enabled) {
      try {
        const { benchEval } = await import('./eval-bench');
        report.eval = await benchEval(ctx, options.eval, trainSources ?? {}, log);
        for (const run of report.eval) if (run.error) report.errors.push(`eval ${run.model}: ${run.error}`);
      } catch (err) {
        report.errors.push(`eval: ${errorText(err)}`);
        log(`eval: error: ${errorText(err)}`);
      }
    }
    if (options.grpo?.enabled) {
      try {
        const { benchGrpo } = await import('./grpo-bench');
        report.grpo = await benchGrpo(ctx, options.grpo, trainSources ?? {}, log);
        for (const run of report.grpo) if (run.error) report.errors.push(`grpo ${run.model}: ${run.error}`);
      } catch (err) {
        report.errors.push(`grpo: ${errorText(err)}`);
        log(`grpo: error: ${errorText(err)}`);
      }
    }
    if (options.decode?.enabled) {
      try {
        const { benchDecode } = await import('./decode-bench');
        // The bound needs this run's copy bandwidth: none (null) when the copy section was skipped or failed.
        report.decode = await benchDecode(ctx, options.decode, report.copy?.gbps ?? null, trainSources ?? {}, log);
        for (const run of report.decode) if (run.error) report.errors.push(`decode ${run.model} B=${run.batch}: ${run.error}`);
      } catch (err) {
        report.errors.push(`decode: ${errorText(err)}`);
        log(`decode: error: ${errorText(err)}`);
      }
    }
  } finally {
    ctx.destroy();
  }
  return report;
}
