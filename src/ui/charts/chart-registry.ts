// window.__tunelabCharts: what every chart on the page plots, keyed by chart name, for tests and for
// anyone inspecting the page. Read-only: each read returns a fresh copy (plain arrays, null for a gap), so
// nothing outside the chart can change its data. Example:
//   window.__tunelabCharts['train-loss'] -> { series: ['step', 'loss', 'smoothed'], data: [[1, 2], [5.9, 5.7], [5.9, 5.8]] }

import type uPlot from 'uplot';

export interface ChartSnapshot {
  /** Label of each column: x first. */
  series: string[];
  /** Column by column, as uPlot's aligned data. */
  data: (number | null)[][];
}

declare global {
  interface Window {
    readonly __tunelabCharts?: Readonly<Record<string, ChartSnapshot>>;
  }
}

const charts: Record<string, ChartSnapshot> = {};
/** Who registered each name last: a chart that goes away only removes its own entry. */
const owners = new Map<string, symbol>();

function registry(): Record<string, ChartSnapshot> {
  if (!('__tunelabCharts' in window)) Object.defineProperty(window, '__tunelabCharts', { value: charts, enumerable: false });
  return charts;
}

function copy(data: uPlot.AlignedData): (number | null)[][] {
  return data.map((col) => Array.from(col as ArrayLike<number | null | undefined>, (v) => (v == null ? null : v)));
}

/** Publishes a chart under `name`; reads go through `current()`. Returns the unregister function. */
export function registerChart(name: string, labels: () => string[], current: () => uPlot.AlignedData): () => void {
  const target = registry();
  const owner = Symbol(name);
  owners.set(name, owner);
  Object.defineProperty(target, name, {
    configurable: true,
    enumerable: true,
    get: (): ChartSnapshot => ({ series: [...labels()], data: copy(current()) }),
  });
  return () => {
    if (owners.get(name) !== owner) return;
    owners.delete(name);
    delete target[name];
  };
}
