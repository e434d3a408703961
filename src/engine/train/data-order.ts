// The order examples are visited in: a seeded shuffle per epoch, so a run is reproducible and a resumed run
// continues exactly where the checkpoint left off (the cursor is part of the checkpoint).

import { Rng } from '../util/rng';

export interface DataCursor {
  epoch: number;
  /** Index into the epoch's permutation of the next example. */
  position: number;
}

/** Fisher-Yates permutation of 0..n-1 from (seed, epoch): independent of anything visited before. */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  const rng = new Rng((seed * 1000003 + epoch * 7919) >>> 0);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Walks examples epoch by epoch in shuffled order; `take(k)` returns the next k indices. */
export class DataOrder {
  private permutation: Int32Array;
  private cursor: DataCursor;

  constructor(
    private readonly count: number,
    private readonly seed: number,
    start: DataCursor = { epoch: 0, position: 0 },
  ) {
    if (count < 1) throw new RangeError('the training set is empty');
    this.cursor = { ...start };
    this.permutation = epochPermutation(count, seed, start.epoch);
  }

  get state(): DataCursor {
    return { ...this.cursor };
  }

  /** Examples visited so far, over all epochs. */
  get consumed(): number {
    return this.cursor.epoch * this.count + this.cursor.position;
  }

  next(): number {
    if (this.cursor.position >= this.count) {
      this.cursor = { epoch: this.cursor.epoch + 1, position: 0 };
      this.permutation = epochPermutation(this.count, this.seed, this.cursor.epoch);
    }
    return this.permutation[this.cursor.position++];
  }

  take(k: number): number[] {
    return Array.from({ length: k }, () => this.next());
  }
}
