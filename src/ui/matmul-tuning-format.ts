// The Device page's matmul tuning as rows to show: per shape class the products timed, the variant chosen
// against the built-in rule's, and each candidate's GFLOP/s (or why it has none).

import type { MatmulTuningRecord } from '../worker/protocol-matmul-tuning';

export interface CandidateCell {
  variant: string;
  /** "0.233", "6012", or "—" without a figure. */
  text: string;
  /** Why there is no figure (the note), or undefined. */
  title?: string;
  status: 'timed' | 'untimed' | 'failed';
  chosen: boolean;
}

export interface TuningRow {
  id: string;
  label: string;
  /** "256×576×192 Bᵀ + 256×192×576". */
  products: string;
  choice: string;
  rule: string;
  /** "1.23× the rule" when the choice is not the rule's and both were timed; else null. */
  gain: string | null;
  candidates: CandidateCell[];
}

/** Three significant digits, whole numbers from 100: 0.233, 4.24, 61.3, 6012. */
export function formatGflops(x: number): string {
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

function products(c: MatmulTuningRecord['classes'][number]): string {
  return c.products.map((p) => `${p.m}×${p.k}×${p.n}${p.transA ? ' Aᵀ' : ''}${p.transB ? ' Bᵀ' : ''}`).join(' + ');
}

export function tuningRows(record: MatmulTuningRecord): TuningRow[] {
  return record.classes.map((c) => {
    const rate = (v: string) => c.candidates.find((x) => x.variant === v)?.gflops ?? null;
    const chosen = rate(c.choice);
    const ruled = rate(c.rule);
    return {
      id: c.id,
      label: c.label,
      products: products(c),
      choice: c.choice,
      rule: c.rule,
      gain: c.choice !== c.rule && chosen !== null && ruled !== null && ruled > 0 ? `${(chosen / ruled).toFixed(2)}× the rule` : null,
      candidates: c.candidates.map((x): CandidateCell => ({
        variant: x.variant,
        text: x.gflops === null ? '—' : formatGflops(x.gflops),
        ...(x.note ? { title: x.note } : {}),
        status: x.gflops !== null && !x.note ? 'timed' : x.note?.startsWith('not timed') ? 'untimed' : 'failed',
        chosen: x.variant === c.choice,
      })),
    };
  });
}

/** "just now", "5 minutes ago", "3 hours ago", "2 days ago". */
export function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'} ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} hour${hours === 1 ? '' : 's'} ago`;
  const days = Math.floor(hours / 24);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}

/** "Measured 5 minutes ago in 14.2 s (budget 15 s, small products); 3 of 10 classes run another kernel than the rule." */
export function tuningSummary(record: MatmulTuningRecord, now: number = Date.now()): string {
  const when = Date.parse(record.tunedAt);
  const age = Number.isNaN(when) ? record.tunedAt : formatAge(Math.max(0, now - when));
  const changed = record.classes.filter((c) => c.choice !== c.rule).length;
  const classes = record.classes.length;
  const verdict =
    changed === 0
      ? `every one of the ${classes} classes keeps the built-in choice`
      : `${changed} of ${classes} classes run another kernel than the built-in choice`;
  return `Measured ${age} in ${record.elapsedS.toFixed(1)} s (budget ${record.budgetS} s, ${record.profile} products); ${verdict}.`;
}
