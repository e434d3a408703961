// Fixed GRPO rollouts for GPU tests: prompts and completions of unequal lengths, advantages of both signs, and
// "num_iterations > 1" old log-probabilities made from the policy's own by per-token shifts that put some
// ratios well inside the clip range [1 - 0.2, 1 + 0.2] and others well outside it on both sides (never
// near its edges, so f32 and float64 agree on which tokens are clipped); reference log-probabilities near
// the policy's for the KL term. Every log-probability is f32-representable: the GPU reads it as f32.

import type { RolloutSample } from '../../src/engine/train/grpo/grpo-objective';
import type { TokenLogps } from '../../src/engine/train/objective';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { IGNORE_INDEX, type TrainBatch } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import type { LoadedModel } from './tiny-models';

export interface RolloutShape {
  prompt: number;
  completion: number;
  advantage: number;
  truncated?: boolean;
}

/** Five completions; the fourth hit the length limit (masked when mask_truncated_completions is on). */
export const ROLLOUT_SHAPES: readonly RolloutShape[] = [
  { prompt: 1, completion: 5, advantage: 1.1 },
  { prompt: 3, completion: 4, advantage: -0.7 },
  { prompt: 2, completion: 6, advantage: 0.45 },
  { prompt: 4, completion: 4, advantage: -1.3, truncated: true },
  { prompt: 2, completion: 3, advantage: -0.35 },
];

/** Samples of these shapes with random token ids (3 .. vocab - 1) and no old or reference log-probabilities. */
export function rolloutSamples(shapes: readonly RolloutShape[], vocab: number, seed: number): RolloutSample[] {
  const rng = new Rng(seed);
  const ids = (n: number) => Array.from({ length: n }, () => 3 + rng.int(vocab - 3));
  return shapes.map((s) => ({ prompt: ids(s.prompt), completion: ids(s.completion), advantage: s.advantage, truncated: s.truncated ?? false }));
}

/**
 * log(ratio) = logp - old of each token: +-0.35..0.55 (ratio 0.58..0.70 or 1.42..1.73, clipped where the
 * advantage's sign agrees) or +-0.02..0.08 (ratio within 8% of 1, never clipped).
 */
function logRatio(rng: Rng): number {
  const far = rng.next() < 0.5;
  const size = far ? rng.uniform(0.35, 0.55) : rng.uniform(0.02, 0.08);
  return rng.next() < 0.5 ? size : -size;
}

/**
 * The samples with old log-probabilities (the policy's shifted by logRatio) and reference ones (the policy's
 * +- 0.4), from `policy` = the policy's token log-probabilities of `batch` (built from these samples, in
 * order). Completion token j of a sample is label position prompt - 1 + j of its sequence.
 */
export function withOldAndReference(samples: readonly RolloutSample[], batch: TrainBatch, policy: TokenLogps, seed: number): RolloutSample[] {
  const rng = new Rng(seed);
  if (batch.sequences.length !== samples.length) throw new Error(`${samples.length} samples for ${batch.sequences.length} sequences`);
  return samples.map((s, i) => {
    const at = (j: number) => policy[i][s.prompt.length - 1 + j];
    const oldLogps = Float64Array.from(s.completion, (_, j) => Math.fround(at(j) - logRatio(rng)));
    const refLogps = Float64Array.from(s.completion, (_, j) => Math.fround(at(j) + rng.uniform(-0.4, 0.4)));
    return { ...s, oldLogps, refLogps };
  });
}

/** log softmax(logits / tau)[label] per position, in float64 from the CPU inference model's logits (cpu-model.ts). */
export async function logpsAtTemperature(loaded: LoadedModel, batch: TrainBatch, tau: number): Promise<Float64Array[]> {
  const lm = new CpuCausalLm(loaded.config, loaded.weights);
  const V = loaded.config.vocabSize;
  const out: Float64Array[] = [];
  for (const s of batch.sequences) {
    const sequence = lm.createSequence(s.inputIds.length);
    const [logits] = await lm.extend([{ sequence, tokens: s.inputIds }], 'all');
    lm.releaseSequence(sequence);
    out.push(
      Float64Array.from(s.labels, (label, t) => {
        if (label === IGNORE_INDEX) return 0;
        const row = Array.from(logits.subarray(t * V, (t + 1) * V), (z) => z / tau);
        const max = Math.max(...row);
        return row[label] - max - Math.log(row.reduce((a, z) => a + Math.exp(z - max), 0));
      }),
    );
  }
  return out;
}

/** The largest |a - b| over every sequence and position; throws unless both hold the same (non-empty) shape. */
export function maxAbsDiff(a: Float64Array[], b: Float64Array[]): number {
  if (a.length === 0 || a.length !== b.length || a.some((x, i) => x.length !== b[i].length)) {
    throw new Error(`maxAbsDiff: shapes differ or are empty (${a.map((x) => x.length)} vs ${b.map((x) => x.length)})`);
  }
  return Math.max(...a.map((x, i) => Math.max(...x.map((v, t) => Math.abs(v - b[i][t])))));
}
