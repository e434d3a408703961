// The eval section of the report (bench/core/eval-bench.ts): each model's multiple-choice scoring record and
// the table of items/s with the shared context against from scratch.

import type { OursReport } from '../core/types';
import { fmt, softwareMark, table } from './format';

const EVAL_NOTE =
  'one run = scoreContinuations over all items (random ids, HellaSwag shape: context 64-96 tokens, 4 endings of 12-32), f16 weights, ' +
  'batches of batch_tokens KV positions with one queue submit each; shared: each context computed once and its KV rows copied to every ending; ' +
  "scratch: context + ending per choice (lm-evaluation-harness's way); a warm-up run of each mode, then timed rounds of one run per mode, interleaved; " +
  'items/s = items / mean run time; speedup = mean scratch run / mean shared run (best_speedup: fastest over fastest).';

export interface EvalRunJson {
  model: string;
  description: string;
  items: number;
  choices: number;
  batch_tokens: number;
  batches_per_run: number;
  submits_per_batch: number;
  rows_shared: number;
  rows_scratch: number;
  load_s: number | null;
  warmup_s: number | null;
  shared_s: number[];
  scratch_s: number[];
  shared_items_per_s: number | null;
  scratch_items_per_s: number | null;
  speedup: number | null;
  best_speedup: number | null;
  error?: string;
}

export interface EvalJson {
  note: string;
  runs: EvalRunJson[];
}

export function evalJson(ours: OursReport): EvalJson | null {
  if (!ours.eval?.length) return null;
  return {
    note: EVAL_NOTE,
    runs: ours.eval.map((r) => ({
      model: r.model,
      description: r.description,
      items: r.items,
      choices: r.choices,
      batch_tokens: r.batchTokens,
      batches_per_run: r.batches,
      submits_per_batch: r.submitsPerBatch,
      rows_shared: r.rowsShared,
      rows_scratch: r.rowsScratch,
      load_s: r.loadS ?? null,
      warmup_s: r.warmupS ?? null,
      shared_s: r.sharedS,
      scratch_s: r.scratchS,
      shared_items_per_s: r.sharedItemsPerS ?? null,
      scratch_items_per_s: r.scratchItemsPerS ?? null,
      speedup: r.speedup ?? null,
      best_speedup: r.bestSpeedup ?? null,
      ...(r.error ? { error: r.error } : {}),
    })),
  };
}

export function evalReport(e: EvalJson, note: string | null): string[] {
  const rows = e.runs.map((r) => [
    r.model,
    `${r.items} x 4`,
    `${r.rows_shared} / ${r.rows_scratch}`,
    r.error ? 'error' : fmt(r.shared_items_per_s),
    fmt(r.scratch_items_per_s),
    r.speedup === null ? '-' : `${fmt(r.speedup)}x`,
    r.best_speedup === null ? '-' : `${fmt(r.best_speedup)}x`,
    `${r.batches_per_run} x ${fmt(r.submits_per_batch, 0)}`,
  ]);
  const out = [
    'eval  multiple-choice scoring, shared context vs every choice from scratch' + softwareMark(note),
    table(['model', 'items', 'rows shared / scratch', 'items/s shared', 'items/s scratch', 'speed-up', 'best speed-up', 'batches x submits'], rows),
  ];
  for (const r of e.runs) {
    const rounds = r.shared_s.length
      ? `; ${r.shared_s.length} timed round(s): shared ${r.shared_s.map((s) => s.toFixed(2)).join(', ')} s, scratch ${r.scratch_s.map((s) => s.toFixed(2)).join(', ')} s`
      : '';
    out.push(`${r.model}: ${r.description}${rounds}`);
    if (r.error) out.push(`  error: ${r.error}`);
  }
  out.push(`eval: ${e.note}`);
  return out;
}
