// A dataset's per-line errors, kept as the first KEPT_ERRORS by line with a count of them all: a file whose
// every line is bad (a million lines of it) must not hold, send to the page or store one error per line.
// Each reading stage (parse, format detection, normalisation) starts from the previous stage's tally.

/** One bad line of a dataset file, with why. */
export interface RecordError {
  line: number;
  message: string;
}

/** Errors kept with their line and message; the rest are only counted. */
export const KEPT_ERRORS = 100;

/** The first errors by line (at most KEPT_ERRORS), and how many there were in all. */
export interface LineErrors {
  errors: RecordError[];
  errorCount: number;
}

export class ErrorTally {
  private readonly kept: RecordError[];
  private count: number;

  /** `earlier`: a previous stage's errors (already sorted by line), counted and kept as they were. */
  constructor(
    earlier: LineErrors = { errors: [], errorCount: 0 },
    private readonly limit = KEPT_ERRORS,
  ) {
    this.kept = earlier.errors.slice(0, limit);
    this.count = earlier.errorCount;
  }

  /** Counts `error`; keeps it when it is among the first `limit` by line (after those of the same line). */
  add(error: RecordError): void {
    this.count++;
    const kept = this.kept;
    if (kept.length >= this.limit && error.line >= kept[kept.length - 1].line) return;
    // From the end: errors mostly come in line order, so this rarely walks far (and never past `limit`).
    let at = kept.length;
    while (at > 0 && kept[at - 1].line > error.line) at--;
    kept.splice(at, 0, error);
    if (kept.length > this.limit) kept.pop();
  }

  get errorCount(): number {
    return this.count;
  }

  result(): LineErrors {
    return { errors: [...this.kept], errorCount: this.count };
  }
}
