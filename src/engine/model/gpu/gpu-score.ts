// A scoring plan (causal-lm.ts: ScorePlan) recorded into ONE step:
//
//   prefill rows -> trunk (no head)
//   forks: per layer, the source's cached k and v rows copied into the target's cache (copyBufferToBuffer)
//   scored requests' rows -> trunk -> the scored rows gathered -> final norm -> chunked head statistics
//
// Commands of one encoder run in order, so the scored requests read the prefilled and forked caches. The
// caller submits the step once and turns the read-back statistics into log-probabilities.

import type { Readback, StepEncoder } from '../../gpu/step-encoder';
import type { ExtendRequest, ScorePlan, ScoreRequest, SequenceState } from '../causal-lm';
import { recordHeadStats } from './gpu-head-stats';
import { recordNorm } from './gpu-layer';
import { checkStepSize, placeRows, recordTrunk, type TrunkModel } from './gpu-trunk';
import type { GpuSequence } from './kv-cache';

/** What the step will have read back: the statistics of every scored row, request after request. */
export interface PendingScores {
  stats: Readback;
  /** First scored row of each request in the statistics, and how many. */
  ranges: { first: number; count: number }[];
}

/** `sequenceOf` maps the plan's sequences to the model's own (already validated). */
export function recordScorePlan(step: StepEncoder, model: TrunkModel, plan: ScorePlan, sequenceOf: (s: SequenceState) => GpuSequence): PendingScores {
  const { ctx, config, weights } = model;
  const C = config.hiddenSize;
  const kvRowBytes = config.numKvHeads * config.headDim * 4;
  // Lengths as the step goes (the sequences themselves advance only after the submit).
  const lengths = new Map<GpuSequence, number>();
  const lengthOf = (s: GpuSequence) => lengths.get(s) ?? s.length;

  const trunk = (requests: readonly (ExtendRequest | ScoreRequest)[]) => {
    const seqs = requests.map((r) => sequenceOf(r.sequence));
    const { rows, total } = placeRows(requests.map((r, i) => ({ tokens: r.tokens, past: lengthOf(seqs[i]), caches: seqs[i].layers })));
    checkStepSize(ctx, config, total);
    const scratch = recordTrunk(step, model, requests, rows, total);
    seqs.forEach((s, i) => lengths.set(s, lengthOf(s) + requests[i].tokens.length));
    return { scratch, rows, total };
  };

  if (plan.prefill.length > 0) trunk(plan.prefill);

  for (const fork of plan.forks) {
    const source = sequenceOf(fork.source);
    const target = sequenceOf(fork.target);
    const bytes = lengthOf(source) * kvRowBytes;
    if (bytes > 0) {
      source.layers.forEach((cache, l) => {
        step.copy(cache.k, 0, target.layers[l].k, 0, bytes);
        step.copy(cache.v, 0, target.layers[l].v, 0, bytes);
      });
    }
    lengths.set(target, lengthOf(source));
  }

  const { scratch, rows, total } = trunk(plan.score);
  // The scored rows are the last targets.length of each request: gather them unless they are every row.
  const ranges: PendingScores['ranges'] = [];
  let scoredRows = 0;
  for (const r of plan.score) {
    ranges.push({ first: scoredRows, count: r.targets.length });
    scoredRows += r.targets.length;
  }
  let source = scratch.x;
  if (scoredRows < total) {
    source = step.temp(scoredRows * C * 4, 'scored rows');
    rows.forEach((r, i) => {
      const { first, count } = ranges[i];
      step.copy(scratch.x, (r.start + r.count - count) * C * 4, source, first * C * 4, count * C * 4);
    });
  }
  const targets = new Int32Array(scoredRows);
  plan.score.forEach((r, i) => targets.set(Array.from(r.targets), ranges[i].first));
  const targetsBuffer = step.temp(scoredRows * 4, 'scored targets');
  ctx.write(targetsBuffer, targets);

  // The layers' normed-input scratch (N >= scored rows) holds the final norm's output.
  recordNorm(step, config, scratch.h2, source, weights.finalNorm, scoredRows, scratch.mlpStats);
  const stats = recordHeadStats(step, weights.lmHead, scratch.h2, targetsBuffer, scoredRows);
  return { stats, ranges };
}
