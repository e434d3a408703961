// uPlot options for the studio's line charts: steps on x, one y scale, series as the caller describes them.

import uPlot from 'uplot';

export interface ChartLine {
  label: string;
  color: string;
  /** Dashed line (a second run, a smoothed curve). */
  dash?: boolean;
  /** Draw a marker at every point (sparse series such as evaluations). */
  points?: boolean;
  width?: number;
}

/** Colours that stay apart for colour-blind readers (Okabe-Ito). */
export const CHART_COLORS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'] as const;

/** Numbers on the axes and in the legend: short, and exponential where small (learning rates). */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export function chartOptions(lines: readonly ChartLine[], size: { width: number; height: number }, xLabel: string): uPlot.Options {
  return {
    width: size.width,
    height: size.height,
    scales: { x: { time: false } },
    axes: [
      { label: xLabel, size: 40, labelSize: 18 },
      { size: 60, values: (_u, ticks) => ticks.map(formatTick) },
    ],
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    series: [
      { label: xLabel, value: (_u, v) => (v == null ? '—' : String(v)) },
      ...lines.map(
        (l): uPlot.Series => ({
          label: l.label,
          stroke: l.color,
          width: l.width ?? 1.5,
          dash: l.dash ? [6, 4] : undefined,
          spanGaps: true,
          points: l.points ? { show: true, size: 6, fill: l.color } : { show: false },
          value: (_u, v) => (v == null ? '—' : formatTick(v)),
        }),
      ),
    ],
  };
}
