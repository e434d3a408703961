// Time left in a run at the pace of its recent steps (evaluations and checkpoints included, since they
// take the same wall clock): the mean duration of the last few steps times the steps still to go.

export class EtaClock {
  /** (step, ms) marks, oldest first; at most window + 1 are kept. */
  private marks: { step: number; ms: number }[] = [];

  constructor(private readonly window = 10) {}

  /** Records that `step` steps were done at time `ms` (call once at the start, then after each step). */
  mark(step: number, ms: number): void {
    this.marks.push({ step, ms });
    if (this.marks.length > this.window + 1) this.marks.shift();
  }

  /** Seconds until `totalSteps`, or null before two marks set a pace. */
  secondsLeft(totalSteps: number): number | null {
    if (this.marks.length < 2) return null;
    const first = this.marks[0];
    const last = this.marks[this.marks.length - 1];
    const steps = last.step - first.step;
    if (steps <= 0) return null;
    const perStep = (last.ms - first.ms) / steps / 1000;
    return Math.max(0, totalSteps - last.step) * perStep;
  }
}
