// Errors of a training run that the CLI and the studio report as they are.

/**
 * A step whose loss or gradient norm is NaN or infinite, or whose updated adapter or optimizer moments hold
 * such a value: the run stops there, its last good checkpoint kept.
 */
export class NonFiniteTrainingError extends Error {
  override readonly name = 'NonFiniteTrainingError';

  constructor(
    readonly step: number,
    /** What is not finite: 'loss', 'gradient norm', or a checkpoint tensor's value (`value 17 of tensor "x.A"`). */
    readonly problem: { what: string; value: number },
    /** Step of the last checkpoint written (0: none). */
    readonly lastCheckpoint: number,
  ) {
    const kept = lastCheckpoint > 0 ? `the last good checkpoint (step ${lastCheckpoint}) is kept` : 'no checkpoint had been written yet';
    super(
      `Training stopped at step ${step}: the ${problem.what} is ${problem.value} (not a finite number), so the adapter can no longer be trusted; ` +
        `${kept}. Lower the learning rate or enable gradient clipping, then start again${lastCheckpoint > 0 ? ' or resume from that checkpoint' : ''}.`,
    );
  }
}
