// The matmul section of the report: our rows and the peer's merged by shape (JSON), and their table.

import type { MatmulRun, PeerReport } from '../core/types';
import { fmt, pct, table } from './format';

/** One shape and B format: ours beside the peer's. Peer rows of a shape we did not run carry fewer fields. */
export interface MatmulRow {
  m: number;
  k: number;
  n: number;
  b_format: 'f32' | 'f16';
  variant: string | null;
  kernel?: string | null;
  gflops: number | null;
  peer_gflops: number | null;
  fraction_of_peak: number | null;
  peer_fraction_of_peak: number | null;
  ratio: number | null;
  best_ms?: number | null;
  median_ms?: number | null;
  samples?: number;
  r?: number | null;
  warmup_s?: number | null;
  max_rel_err?: number | null;
  ok?: boolean | null;
  peer_best_ms: number | null;
  peer_max_rel_err: number | null;
  peer_ok: boolean | null;
  peer_b_format?: string;
  skipped?: string;
  error?: string;
  peer_skipped?: string;
  peer_error?: string;
}

export const TIMING_NOTE =
  'wall clock from submit to queue.onSubmittedWorkDone(); warm-up run (pipeline compilation, uploads) excluded; ' +
  'r products per timed repetition; best (minimum) time per product over the repetitions is reported, the median is in --json; ' +
  'peer: inputs uploaded during its warm-up, no readback timed.';

export function mergeRows(ours: readonly MatmulRun[], peer: PeerReport, peak: number | null): MatmulRow[] {
  const peerBy = new Map(peer.matmul.map((p) => [`${p.m}x${p.k}x${p.n}`, p]));
  const rows = ours.map((o) => {
    const p = peerBy.get(`${o.m}x${o.k}x${o.n}`);
    const row: MatmulRow = {
      m: o.m,
      k: o.k,
      n: o.n,
      b_format: o.b_format,
      variant: o.variant,
      kernel: o.kernel ?? null,
      gflops: o.gflops,
      peer_gflops: p?.gflops ?? null,
      fraction_of_peak: o.gflops !== null && peak ? o.gflops / peak : null,
      peer_fraction_of_peak: p?.gflops != null && peak ? p.gflops / peak : null,
      ratio: o.gflops !== null && p?.gflops ? o.gflops / p.gflops : null,
      best_ms: o.timing ? o.timing.bestS * 1e3 : null,
      median_ms: o.timing ? o.timing.medianS * 1e3 : null,
      samples: o.timing?.samples.length ?? 0,
      r: o.timing?.r ?? null,
      warmup_s: o.timing?.warmupS ?? null,
      max_rel_err: o.max_rel_err ?? null,
      ok: o.ok ?? null,
      peer_best_ms: p?.timing ? p.timing.bestS * 1e3 : null,
      peer_max_rel_err: p?.max_rel_err ?? null,
      peer_ok: p?.ok ?? null,
    };
    if (o.b_format === 'f16') row.peer_b_format = 'f32 (tfjs has no packed-f16 weights)';
    if (o.skipped) row.skipped = o.skipped;
    if (o.error) row.error = o.error;
    if (p?.skipped) row.peer_skipped = p.skipped;
    if (p?.error) row.peer_error = p.error;
    return row;
  });
  // Peer rows whose shape we did not run (our dispatcher missing): keep them visible.
  for (const p of peer.matmul) {
    if (!rows.some((r) => r.m === p.m && r.k === p.k && r.n === p.n)) {
      rows.push({
        m: p.m, k: p.k, n: p.n, b_format: 'f32', variant: null, gflops: null, peer_gflops: p.gflops,
        fraction_of_peak: null, peer_fraction_of_peak: p.gflops != null && peak ? p.gflops / peak : null, ratio: null,
        peer_best_ms: p.timing ? p.timing.bestS * 1e3 : null, peer_max_rel_err: p.max_rel_err ?? null, peer_ok: p.ok ?? null,
        ...(p.skipped ? { peer_skipped: p.skipped } : {}), ...(p.error ? { peer_error: p.error } : {}),
        error: 'not run by ours',
      });
    }
  }
  return rows;
}

/** Our fastest correct matmul row of this run (any shape, B format, variant). */
export function bestMatmul(rows: readonly MatmulRow[]): MatmulRow | null {
  let best: MatmulRow | null = null;
  for (const r of rows) if (r.gflops !== null && (r.ok ?? true) && (!best || r.gflops > (best.gflops ?? 0))) best = r;
  return best;
}

interface PeerSummary {
  name: string;
  available: boolean;
  error: string | null;
}

/** The matmul table and the notes under it (skips, errors, the check and timing conventions). */
export function matmulReport(rows: readonly MatmulRow[], peer: PeerSummary, errors: readonly string[], timing: string): string[] {
  const out = [`matmul  C(m,n) = A(m,k) @ B(n,k)^T, A and C f32; GFLOP/s = 2mkn / s; peer = ${peer.name}${peer.available ? '' : ' (not run)'}`];
  const cells = rows.map((r) => {
    const check = r.ok == null ? '-' : `${r.ok ? 'ok' : 'WRONG'} ${(r.max_rel_err ?? NaN).toExponential(0)}`;
    const peerCell = r.peer_gflops !== null ? fmt(r.peer_gflops) : r.peer_skipped ? 'skipped' : r.peer_error ? 'error' : '-';
    const kernel = r.kernel
      ? r.kernel.split(' + ').map((k) => k.split(':').pop()).join('+') + (r.variant && r.variant !== 'auto' ? ' (forced)' : '')
      : (r.variant ?? '-');
    return [
      `${r.m}x${r.k}x${r.n}`,
      r.b_format,
      kernel,
      r.gflops !== null ? fmt(r.gflops) : r.skipped ? 'skipped' : 'error',
      pct(r.fraction_of_peak),
      fmt(r.best_ms, 1),
      check,
      peerCell + (r.b_format === 'f16' && r.peer_gflops !== null ? '*' : ''),
      pct(r.peer_fraction_of_peak),
      fmt(r.peer_best_ms, 1),
      r.ratio !== null ? `${r.ratio.toFixed(2)}x` : '-',
    ];
  });
  out.push(table(['M x K x N', 'B', 'kernel', 'ours GFLOP/s', 'of peak', 'ms', 'check', 'peer GFLOP/s', 'of peak', 'ms', 'ours/peer'], cells));
  const notes: string[] = [];
  if (peer.available && rows.some((r) => r.b_format === 'f16')) notes.push('* f16 rows: the peer has no packed-f16 weights; compared with its f32 run.');
  for (const r of rows) {
    const s = `${r.m}x${r.k}x${r.n} ${r.b_format}`;
    if (r.skipped) notes.push(`ours ${s}: skipped, ${r.skipped}`);
    if (r.error) notes.push(`ours ${s}: ${r.error}`);
    if (r.b_format === 'f32' && r.peer_skipped) notes.push(`peer ${s}: skipped, ${r.peer_skipped}`);
    if (r.b_format === 'f32' && r.peer_error) notes.push(`peer ${s}: ${r.peer_error}`);
    if (r.b_format === 'f32' && r.peer_ok === false) notes.push(`peer ${s}: WRONG RESULT, max relative error ${r.peer_max_rel_err}`);
  }
  if (!peer.available && peer.error) notes.push(`peer: ${peer.error}`);
  for (const e of errors) notes.push(`error: ${e}`);
  notes.push(`check: max |error| / sum|a_i b_i| on rows 0, m/2, m-1 against a float64 CPU reference.`);
  notes.push(`timing: ${timing}`);
  out.push('', ...notes);
  return out;
}
