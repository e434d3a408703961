// Progress of an evaluation in units of work (items, or requests when one item is several), with an ETA
// from the mean time per unit so far, and the cancel check every runner makes between batches.

export interface EvalProgress {
  done: number;
  total: number;
  /** Seconds left at the mean pace so far; absent until one unit is done. */
  etaSeconds?: number;
}

export type ProgressListener = (p: EvalProgress) => void;

/** Counts finished units and reports each change with an ETA. */
export class ProgressTracker {
  private done = 0;
  private readonly started: number;

  constructor(
    readonly total: number,
    private readonly listener: ProgressListener | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
    listener?.({ done: 0, total });
  }

  get finished(): number {
    return this.done;
  }

  /** Sets the finished count (monotonic) and reports it. */
  update(done: number): void {
    this.done = Math.min(this.total, Math.max(this.done, done));
    if (!this.listener) return;
    const elapsed = (this.now() - this.started) / 1000;
    const etaSeconds = this.done > 0 ? (elapsed / this.done) * (this.total - this.done) : undefined;
    this.listener(etaSeconds === undefined ? { done: this.done, total: this.total } : { done: this.done, total: this.total, etaSeconds });
  }

  add(units: number): void {
    this.update(this.done + units);
  }
}

/** The message of an error, for a per-item outcome. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
