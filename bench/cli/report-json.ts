// The bench's result as one JSON object (what --json prints and --out writes): the adapter, peak, copy, the
// matmul rows merged with the peer's, and a record per optional section (null when it did not run).

import type { AdapterReport, CopyReport, OursReport, PeakReport, PeerReport } from '../core/types';
import { decodeJson, type DecodeJson } from './report-decode';
import { evalJson, type EvalJson } from './report-eval';
import { grpoJson, type GrpoJson } from './report-grpo';
import { mergeRows, TIMING_NOTE, type MatmulRow } from './report-matmul';
import { trainJson, type TrainJson } from './report-train';

export interface BenchResult {
  ours: OursReport;
  peer: PeerReport;
}

export interface BenchJson {
  adapter: AdapterReport | null;
  peak_gflops: number | null;
  copy_gbps: number | null;
  matmul: MatmulRow[];
  peak: PeakReport | null;
  copy: CopyReport | null;
  peer: { name: string; available: boolean; error: string | null; adapter: Partial<AdapterReport> | null };
  software_adapter: boolean;
  /** Set on a software adapter: absolute figures are not GPU speed. */
  note: string | null;
  timing: string;
  train: TrainJson | null;
  eval: EvalJson | null;
  grpo: GrpoJson | null;
  decode: DecodeJson | null;
  errors: string[];
  elapsed_s: number;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|cpu/i;

/** A CPU emulation of a GPU (SwiftShader, llvmpipe, lavapipe) or a fallback adapter. */
export function isSoftware(adapter: AdapterReport | null): boolean {
  if (!adapter) return false;
  return adapter.isFallbackAdapter || SOFTWARE.test(`${adapter.architecture} ${adapter.description} ${adapter.device}`);
}

export function buildJson({ ours, peer }: BenchResult, elapsedS: number): BenchJson {
  const peak = ours.peak?.gflops ?? null;
  const matmul = mergeRows(ours.matmul, peer, peak);
  const software = isSoftware(ours.adapter);
  return {
    adapter: ours.adapter,
    peak_gflops: peak,
    copy_gbps: ours.copy?.gbps ?? null,
    matmul,
    peak: ours.peak,
    copy: ours.copy,
    peer: { name: peer.name, available: peer.available, error: peer.error ?? null, adapter: peer.adapter ?? null },
    software_adapter: software,
    note: software ? 'software adapter (CPU emulation): absolute figures are not GPU speed; ratios are what matter' : null,
    timing: TIMING_NOTE,
    train: trainJson(ours, matmul, peak),
    eval: evalJson(ours),
    grpo: grpoJson(ours),
    decode: decodeJson(ours),
    errors: ours.errors,
    elapsed_s: elapsedS,
  };
}

/** 1 when the run is not to be trusted: no adapter, an error, a wrong product, an unverified peak. */
export function exitCodeOf(json: BenchJson): number {
  if (!json.adapter || json.errors.length || json.matmul.some((r) => r.ok === false)) return 1;
  if (json.peak && !json.peak.verified) return 1;
  return 0;
}
