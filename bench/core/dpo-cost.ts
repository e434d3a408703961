// Issue 9's limits on a DPO step's cost, checked from the training rows of one run: the same model, B and T
// with SFT on the chosen answers alone as the unit. A DPO step trains two sequences per pair, so about 2x
// is the floor; the limits leave room for the preference kernel and, with the reference's forward in the
// step, for that forward (about a third of a training pass per sequence).

import { median } from './measure';
import type { DpoCostCheck, TrainRun } from './types';

/** The most a DPO step may cost, in SFT steps on the chosen answers alone. */
export const DPO_STEP_LIMITS = { 'dpo-cached': 2.3, 'dpo-ref': 3.3 } as const;

/** Each DPO row with timed steps against its model's SFT row of the same B and T (none without one). */
export function dpoCostChecks(runs: readonly TrainRun[]): DpoCostCheck[] {
  const checks: DpoCostCheck[] = [];
  for (const dpo of runs) {
    if (dpo.objective === 'sft' || dpo.error || !dpo.stepS.length) continue;
    const sft = runs.find((r) => r.model === dpo.model && r.objective === 'sft' && r.batch === dpo.batch && r.seqLen === dpo.seqLen);
    if (!sft || sft.error || !sft.stepS.length) continue;
    const mean = (r: TrainRun) => r.stepS.reduce((a, b) => a + b, 0) / r.stepS.length;
    const ratio = mean(dpo) / mean(sft);
    const limit = DPO_STEP_LIMITS[dpo.objective];
    checks.push({
      model: dpo.model,
      objective: dpo.objective,
      seqLen: dpo.seqLen,
      batch: dpo.batch,
      sftTokensPerS: sft.tokensPerStep / mean(sft),
      dpoTokensPerS: dpo.tokensPerStep / mean(dpo),
      ratio,
      medianRatio: median(dpo.stepS) / median(sft.stepS),
      bestRatio: Math.min(...dpo.stepS) / Math.min(...sft.stepS),
      limit,
      ok: ratio <= limit,
    });
  }
  return checks;
}
