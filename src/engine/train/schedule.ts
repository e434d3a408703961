// Learning-rate schedules as transformers defines them: linear warmup from 0 over warmupSteps, then
// constant, linear decay to 0, or half a cosine to 0 at totalSteps. `step` counts optimizer steps from 0
// (the lr used by the first update is lrAt(0)).

export type SchedulerName = 'constant' | 'linear' | 'cosine';

export interface Schedule {
  name: SchedulerName;
  lr: number;
  warmupSteps: number;
  totalSteps: number;
}

export function lrAt(s: Schedule, step: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.lr * step) / s.warmupSteps;
  if (s.name === 'constant') return s.lr;
  const decaySteps = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / decaySteps);
  if (s.name === 'linear') return s.lr * Math.max(0, 1 - progress);
  return s.lr * 0.5 * (1 + Math.cos(Math.PI * progress));
}

export function validateSchedule(s: Schedule): void {
  if (!['constant', 'linear', 'cosine'].includes(s.name)) throw new RangeError(`unknown scheduler "${s.name}" (constant, linear, cosine)`);
  if (!(s.lr > 0)) throw new RangeError(`learning rate must be positive, got ${s.lr}`);
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0) throw new RangeError(`warmup steps must be a non-negative integer, got ${s.warmupSteps}`);
  if (!Number.isInteger(s.totalSteps) || s.totalSteps < 1) throw new RangeError(`total steps must be a positive integer, got ${s.totalSteps}`);
}
