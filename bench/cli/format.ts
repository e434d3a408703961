// Number and table formatting shared by every section of the bench's printed report.

type Maybe = number | null | undefined;

/** A number with `digits` decimals, or '-' when there is none (null, undefined, NaN, infinite). */
export function fmt(v: Maybe, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

/** A fraction as a percentage with one decimal: 0.1234 -> "12.3%". */
export function pct(v: Maybe): string {
  return v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)}%`;
}

/** 1234567 -> "1.235M" (4 significant digits); below 1000 the number as it is. */
export function si(v: Maybe): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  const units: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, unit] of units) if (Math.abs(v) >= scale) return `${(v / scale).toPrecision(4)}${unit}`;
  return String(v);
}

export type Cell = string | number;

/** A plain-text table: the first three columns left-aligned (names), the rest right-aligned (figures). */
export function table(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: readonly Cell[]) => cells.map((c, i) => (i < 3 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The mark a section's title carries on a software adapter. */
export function softwareMark(note: string | null): string {
  return note ? '   [SOFTWARE ADAPTER: not GPU speed]' : '';
}
