// `tunelab info`: the adapter dawn.node finds (no device is created) and its stored matmul tuning, as text
// or one JSON object.

import { isSoftwareAdapter, summarizeAdapter, type GpuAdapterSummary } from '../../engine/gpu/adapter-info';
import { GpuUnavailableError } from '../../engine/gpu/errors';
import { matmulAdapterKey, recordMismatch, type MatmulTuning } from '../../engine/ops/gpu/matmul-tuning';
import { MatmulTuningFile } from '../../node/matmul-tuning-file';
import { nodeGpu, noAdapterMessage } from '../../node/node-gpu';
import { formatTuning } from '../tuning-report';
import type { InfoArgs } from '../options/info';
import type { CliStreams } from '../streams';

export interface AdapterReport extends GpuAdapterSummary {
  /** A CPU emulation (SwiftShader, lavapipe, a fallback adapter): correct but slow. */
  software: boolean;
  /** Every feature the adapter offers, sorted. */
  featureNames: string[];
  matmulTuning: TuningReport;
}

/** The adapter's stored matmul tuning: the record when it fits this adapter and these kernels. */
export interface TuningReport {
  file: string;
  adapterKey: string;
  /** 'stale': stored for this adapter but with other kernels or features (measured again on next use). */
  status: 'tuned' | 'none' | 'stale';
  why?: string;
  record?: MatmulTuning;
}

async function tuningReport(summary: GpuAdapterSummary): Promise<TuningReport> {
  const file = new MatmulTuningFile();
  // acquireGpu asks for shader-f16 and subgroups whenever the adapter has them.
  const features = { shaderF16: summary.features.shaderF16, subgroups: summary.features.subgroups };
  const adapterKey = matmulAdapterKey(summary, features);
  let record: MatmulTuning | undefined;
  try {
    record = await file.get(adapterKey);
  } catch (err) {
    return { file: file.path, adapterKey, status: 'none', why: (err as Error).message };
  }
  if (!record) return { file: file.path, adapterKey, status: 'none', why: 'never tuned on this adapter' };
  const why = recordMismatch(record, adapterKey, features);
  return why ? { file: file.path, adapterKey, status: 'stale', why, record } : { file: file.path, adapterKey, status: 'tuned', record };
}

function formatTuningReport(t: TuningReport): string[] {
  if (t.status === 'tuned') return [`matmul tuning: ${t.file}`, ...formatTuning(t.record!).map((l) => `  ${l}`)];
  const next = t.status === 'stale' ? 'measured again by the next command' : 'measured by the first command that uses the GPU';
  return [`matmul tuning: ${t.status} (${t.why}); ${next}, or now with "tunelab tune" (${t.file})`];
}

export async function adapterReport(): Promise<AdapterReport> {
  const adapter = await nodeGpu().requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new GpuUnavailableError('no-adapter', noAdapterMessage());
  const summary = summarizeAdapter(adapter);
  return {
    ...summary,
    software: isSoftwareAdapter(summary),
    featureNames: [...(adapter.features as ReadonlySet<string>)].sort(),
    matmulTuning: await tuningReport(summary),
  };
}

function formatReport(r: AdapterReport): string {
  const name = [r.vendor, r.architecture].filter(Boolean).join(' ') || '(unnamed)';
  const lines = [
    `adapter:      ${name}`,
    `description:  ${r.description || '(none)'}`,
    `device:       ${r.device || '(none)'}`,
    `software:     ${r.software ? 'yes (a CPU emulation: correct, slow)' : 'no'}${r.isFallbackAdapter ? ' (fallback adapter)' : ''}`,
    `shader-f16:   ${r.features.shaderF16 ? 'yes' : 'no'}`,
    `subgroups:    ${r.features.subgroups ? 'yes' : 'no'}`,
    `timestamps:   ${r.features.timestampQuery ? 'yes' : 'no'}`,
    `features:     ${r.featureNames.join(', ') || '(none)'}`,
    'limits:',
    ...Object.entries(r.limits).map(([k, v]) => `  ${k.padEnd(36)}${v}`),
    ...formatTuningReport(r.matmulTuning),
  ];
  return `${lines.join('\n')}\n`;
}

export async function runInfo(args: InfoArgs, io: CliStreams): Promise<void> {
  const report = await adapterReport();
  io.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
}
