// Progress lines on stderr: downloads (bytes and percent), what was loaded, generation speed. A terminal
// gets one line redrawn in place; a pipe or file gets a few plain lines. --quiet silences all of it but
// warnings.

import type { DownloadProgress } from '../engine/model/source';
import { formatBytes } from './format';
import type { TextSink } from './streams';

/** How often a terminal line is redrawn, and the percent steps a pipe gets a line for. */
const REDRAW_MS = 100;
const PIPE_PERCENT_STEP = 25;

export class Progress {
  private lastDraw = 0;
  private lastPercent = new Map<string, number>();
  private openLine = false;

  constructor(
    private readonly stderr: TextSink,
    private readonly quiet: boolean,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** One line of progress or diagnostics. */
  line(text: string): void {
    if (this.quiet) return;
    this.endOpenLine();
    this.stderr.write(`${text}\n`);
  }

  /** Something the user must know (data dropped, a check skipped): printed even with --quiet. */
  warning(text: string): void {
    this.endOpenLine();
    this.stderr.write(`warning: ${text}\n`);
  }

  /** A ModelSource progress listener: files read from a folder or the cache print nothing. */
  readonly download = (p: DownloadProgress): void => {
    if (this.quiet || p.cached) return;
    const done = p.total !== undefined && p.loaded >= p.total;
    const percent = p.total ? Math.floor((100 * p.loaded) / p.total) : undefined;
    const text =
      `downloading ${p.file}: ${formatBytes(p.loaded)}` +
      (p.total !== undefined ? ` of ${formatBytes(p.total)} (${percent}%)` : '');
    if (this.stderr.isTTY) {
      const t = this.now();
      if (!done && t - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = t;
      this.stderr.write(`\r\x1b[K${text}`);
      this.openLine = true;
      if (done) this.endOpenLine();
      return;
    }
    // A pipe: a line each PIPE_PERCENT_STEP percent and one at the end (a small file: only that one).
    const step = percent === undefined ? 0 : Math.floor(percent / PIPE_PERCENT_STEP) * PIPE_PERCENT_STEP;
    const previous = this.lastPercent.get(p.file) ?? 0;
    if (done ? previous === 100 : step <= previous) return;
    this.lastPercent.set(p.file, done ? 100 : step);
    this.stderr.write(`${text}\n`);
  };

  private endOpenLine(): void {
    if (!this.openLine) return;
    this.stderr.write('\n');
    this.openLine = false;
  }
}
