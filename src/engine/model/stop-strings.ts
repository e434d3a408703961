// Stop strings over streamed text: finds the first stop string in the text and, until the text rules it
// out, holds back any ending that could be the start of one, so no streamed delta ever shows part of it.

export interface StopCheck {
  /** Text that is now safe to show. */
  delta: string;
  /** A stop string appeared; the text ends just before it. */
  stopped: boolean;
}

export class StopStringStream {
  private text = '';
  private emittedLength = 0;
  private stoppedAt = -1;

  constructor(private readonly stopStrings: readonly string[]) {
    for (const s of stopStrings) if (s.length === 0) throw new RangeError('stop strings must not be empty');
  }

  /** Appends final text (from StreamDecoder); after a stop, further text is ignored. */
  push(finalText: string): StopCheck {
    if (this.stoppedAt >= 0) return { delta: '', stopped: true };
    this.text += finalText;
    // No stop string can start inside the emitted text: any ending that could begin one was held back.
    let first = -1;
    for (const s of this.stopStrings) {
      const at = this.text.indexOf(s, this.emittedLength);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      this.stoppedAt = first;
      return { delta: this.emitTo(first), stopped: true };
    }
    return { delta: this.emitTo(this.text.length - this.heldBack()), stopped: false };
  }

  /** Releases text held back for a stop string that never came. */
  flush(): string {
    return this.stoppedAt >= 0 ? '' : this.emitTo(this.text.length);
  }

  /** Everything emitted so far. */
  get emitted(): string {
    return this.text.slice(0, this.emittedLength);
  }

  /** Length of the longest unemitted ending of the text that is a proper prefix of a stop string. */
  private heldBack(): number {
    const open = this.text.length - this.emittedLength;
    let hold = 0;
    for (const s of this.stopStrings) {
      for (let n = Math.min(s.length - 1, open); n > hold; n--) {
        if (this.text.endsWith(s.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    return hold;
  }

  private emitTo(end: number): string {
    const delta = this.text.slice(this.emittedLength, end);
    this.emittedLength = Math.max(this.emittedLength, end);
    return delta;
  }
}
