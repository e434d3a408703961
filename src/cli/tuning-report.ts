// The matmul tuning as `tunelab info` and `tunelab tune` print it: when and how it was measured, then per
// shape class the variant chosen, the rule's, and every candidate's GFLOP/s (the chosen one starred).

import type { MatmulTuning } from '../engine/ops/gpu/matmul-tuning';

/** Three significant digits or whole numbers: 0.233, 4.24, 61.3, 6012. */
export function formatGflops(x: number): string {
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

function shapes(c: MatmulTuning['classes'][number]): string {
  return c.products.map((p) => `${p.m}x${p.k}x${p.n}${p.transA ? ' A^T' : ''}${p.transB ? ' B^T' : ''}`).join(' + ');
}

/** The record as lines (no trailing newline). */
export function formatTuning(record: MatmulTuning): string[] {
  const head =
    `measured ${record.tunedAt} in ${record.elapsedS.toFixed(1)} s (budget ${record.budgetS} s, ${record.profile} products), ` +
    `kernels ${record.kernelsVersion}`;
  const width = Math.max(...record.classes.map((c) => c.label.length), 5) + 2;
  const lines = [head, `  ${'class'.padEnd(width)}${'chosen'.padEnd(16)}${'rule'.padEnd(16)}GFLOP/s per candidate (* chosen)`];
  for (const c of record.classes) {
    const candidates = c.candidates
      .map((x) => `${x.variant} ${x.gflops === null ? (x.note?.startsWith('not timed') ? '-' : 'failed') : formatGflops(x.gflops)}${x.variant === c.choice ? '*' : ''}`)
      .join(', ');
    lines.push(`  ${c.label.padEnd(width)}${c.choice.padEnd(16)}${c.rule.padEnd(16)}${candidates}`);
    lines.push(`  ${''.padEnd(width)}products ${shapes(c)}`);
    for (const x of c.candidates) if (x.note && !x.note.startsWith('not timed')) lines.push(`  ${''.padEnd(width)}${x.variant}: ${x.note}`);
  }
  return lines;
}
