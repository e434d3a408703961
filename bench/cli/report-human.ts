// The bench's printed report: the adapter, compute peak and copy bandwidth, the matmul table, then each
// section that ran (training, eval, GRPO, decode), from the same JSON object --json prints.

import { fmt } from './format';
import { decodeReport } from './report-decode';
import { evalReport } from './report-eval';
import { grpoReport } from './report-grpo';
import type { BenchJson } from './report-json';
import { matmulReport } from './report-matmul';
import { trainReport } from './report-train';

function adapterLines(json: BenchJson): string[] {
  const a = json.adapter;
  if (!a) return ['adapter     none'];
  return [
    `runtime     ${a.runtime}`,
    `adapter     vendor '${a.vendor}', architecture '${a.architecture}', device '${a.device}', description '${a.description}'`,
    `fallback    ${a.isFallbackAdapter ? 'yes' : 'no'}`,
    `features    ${a.features.join(', ') || '(none)'}`,
    `limits      maxStorageBufferBindingSize ${a.limits.maxStorageBufferBindingSize}, maxBufferSize ${a.limits.maxBufferSize}, ` +
      `maxComputeInvocationsPerWorkgroup ${a.limits.maxComputeInvocationsPerWorkgroup}, maxComputeWorkgroupStorageSize ${a.limits.maxComputeWorkgroupStorageSize}`,
  ];
}

function peakAndCopyLines(json: BenchJson): string[] {
  const out: string[] = [];
  const p = json.peak;
  if (p) {
    out.push(
      `compute peak  ${fmt(p.gflops)} GFLOP/s   FMA-bound shader, best of ${p.trials.length} configurations ` +
        `(${p.best.chains} vec4 chains, workgroup ${p.best.wg}, ${p.best.workgroups} workgroups x ${p.best.iters} iterations)` +
        `${p.verified ? '' : '  [OUTPUT CHECK FAILED]'}`,
    );
  } else out.push('compute peak  -');
  const c = json.copy;
  if (c) {
    out.push(
      `copy          ${fmt(c.gbps)} GB/s      ${c.best}, ${(c.bytes / 2 ** 20).toFixed(0)} MiB buffer, ${c.counted}; ` +
        c.methods.filter((m) => m.method !== c.best).map((m) => `${m.method} ${fmt(m.gbps)}`).join(', ') +
        `${c.verified ? '' : '  [OUTPUT CHECK FAILED]'}`,
    );
  } else out.push('copy          -');
  return out;
}

export function humanReport(json: BenchJson): string {
  const out = ['Tunelab bench', ...adapterLines(json)];
  if (json.note) out.push(`NOTE: ${json.note}.`);
  out.push('', ...peakAndCopyLines(json), '');
  out.push(...matmulReport(json.matmul, json.peer, json.errors, json.timing));
  if (json.train) out.push('', ...trainReport(json.train, json.note));
  if (json.eval) out.push('', ...evalReport(json.eval, json.note));
  if (json.grpo) out.push('', ...grpoReport(json.grpo, json.note));
  if (json.decode) out.push('', ...decodeReport(json.decode, json.note));
  out.push(`(${json.elapsed_s.toFixed(0)} s)`);
  return out.join('\n');
}
