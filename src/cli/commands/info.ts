// `tunelab info`: the adapter dawn.node finds (no device is created), as text or one JSON object.

import { isSoftwareAdapter, summarizeAdapter, type GpuAdapterSummary } from '../../engine/gpu/adapter-info';
import { GpuUnavailableError } from '../../engine/gpu/errors';
import { nodeGpu, noAdapterMessage } from '../../node/node-gpu';
import type { InfoArgs } from '../options/info';
import type { CliStreams } from '../streams';

export interface AdapterReport extends GpuAdapterSummary {
  /** A CPU emulation (SwiftShader, lavapipe, a fallback adapter): correct but slow. */
  software: boolean;
  /** Every feature the adapter offers, sorted. */
  featureNames: string[];
}

export async function adapterReport(): Promise<AdapterReport> {
  const adapter = await nodeGpu().requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new GpuUnavailableError('no-adapter', noAdapterMessage());
  const summary = summarizeAdapter(adapter);
  return {
    ...summary,
    software: isSoftwareAdapter(summary),
    featureNames: [...(adapter.features as ReadonlySet<string>)].sort(),
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
  ];
  return `${lines.join('\n')}\n`;
}

export async function runInfo(args: InfoArgs, io: CliStreams): Promise<void> {
  const report = await adapterReport();
  io.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
}
