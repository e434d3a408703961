// The smoothed training-loss curve: an exponential moving average with TensorBoard's debiasing, so the
// first points are not pulled towards 0. smoothed_n = ema_n / (1 - f^n) with ema_n = f * ema_{n-1} + (1 - f) * x_n;
// factor f = 0 is the raw curve, values near 1 smooth hard.

export class Ema {
  private ema = 0;
  private weight = 1;

  constructor(readonly factor: number) {
    if (!(factor >= 0 && factor < 1)) throw new RangeError(`the smoothing factor must be in [0, 1), got ${factor}`);
  }

  /** Adds a value and returns the smoothed value at it. Non-finite values (a diverged step) pass through unsmoothed. */
  next(value: number): number {
    if (!Number.isFinite(value)) return value;
    this.ema = this.factor * this.ema + (1 - this.factor) * value;
    this.weight *= this.factor;
    return this.ema / (1 - this.weight);
  }
}

export function smoothSeries(values: ArrayLike<number>, factor: number): Float64Array {
  const ema = new Ema(factor);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = ema.next(values[i]);
  return out;
}
