// Each scored row's log-softmax at its target, in float64: the reference that the GPU's chunked statistics
// (max, sum of exp, target logit) are checked against, and the CPU model's own scoring.

import type { TokenScores } from './causal-lm';

/** logits (rows, V) float64; targets (rows): log p(target) = z_t - max - log sum exp(z - max), and z_t >= max. */
export function scoreRows(logits: Float64Array, targets: ArrayLike<number>, V: number): TokenScores {
  const rows = targets.length;
  if (logits.length !== rows * V) throw new RangeError(`scoreRows: ${logits.length} logits for ${rows} rows of ${V}`);
  const logProbs = new Float64Array(rows);
  const greedy = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * V, (r + 1) * V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (row[v] > max) max = row[v];
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
    const z = row[targets[r]];
    logProbs[r] = z - max - Math.log(sum);
    greedy[r] = z >= max ? 1 : 0;
  }
  return { logProbs, greedy };
}

/** The same from the GPU's per-row statistics (rows, 4) f32 = (max, sum of exp(z - max), target logit, _). */
export function scoresFromStats(stats: Float32Array, rows: number): TokenScores {
  const logProbs = new Float64Array(rows);
  const greedy = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const max = stats[r * 4];
    const z = stats[r * 4 + 2];
    logProbs[r] = z - max - Math.log(stats[r * 4 + 1]);
    greedy[r] = z >= max ? 1 : 0;
  }
  return { logProbs, greedy };
}
