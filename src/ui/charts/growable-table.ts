// Columns of a live chart: an x column and y columns in Float64Arrays that double when full, so appending a
// point is O(1) amortised, and a snapshot is a set of subarray views (no copy) that uPlot reads as they are.

import type uPlot from 'uplot';

export class GrowableTable {
  private columns: Float64Array[];
  private size = 0;

  /** `width` columns: x first, then the y series. */
  constructor(
    readonly width: number,
    capacity = 64,
  ) {
    this.columns = Array.from({ length: width }, () => new Float64Array(Math.max(1, capacity)));
  }

  get length(): number {
    return this.size;
  }

  /** Appends one row: x then each y. */
  push(row: readonly number[]): void {
    if (row.length !== this.width) throw new RangeError(`a row of this table has ${this.width} values, got ${row.length}`);
    if (this.size === this.columns[0].length) this.grow();
    for (let c = 0; c < this.width; c++) this.columns[c][this.size] = row[c];
    this.size++;
  }

  /** The last value of column `c` (NaN when empty). */
  last(c: number): number {
    return this.size > 0 ? this.columns[c][this.size - 1] : Number.NaN;
  }

  /** Keeps the first `n` rows (a resumed run rewrites the steps after its checkpoint). */
  truncate(n: number): void {
    if (!(n >= 0 && n <= this.size)) throw new RangeError(`cannot keep ${n} of ${this.size} rows`);
    this.size = n;
  }

  /** Rows whose x is below `x`, for x sorted ascending (binary search). */
  countBelow(x: number): number {
    const xs = this.columns[0];
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (xs[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Rewrites column `c` (length must match), e.g. a smoothed series after its factor changed. */
  setColumn(c: number, values: ArrayLike<number>): void {
    if (values.length !== this.size) throw new RangeError(`column ${c} has ${this.size} values, got ${values.length}`);
    this.columns[c].set(values);
  }

  column(c: number): Float64Array {
    return this.columns[c].subarray(0, this.size);
  }

  /** Views of the filled part of every column, in uPlot's aligned layout. */
  view(): uPlot.AlignedData {
    return this.columns.map((col) => col.subarray(0, this.size));
  }

  private grow(): void {
    this.columns = this.columns.map((col) => {
      const next = new Float64Array(col.length * 2);
      next.set(col);
      return next;
    });
  }
}
