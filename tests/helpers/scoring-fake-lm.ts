// A FakeLm that also scores (ScoringLm), for the evaluation runner's tests: its logits are any function of
// the sequence's tokens, so a test knows every log-likelihood exactly; score() follows the ScorePlan order
// (prefill, forks, scored rows) and takes float64 log-softmaxes of the rows, as the CPU reference does.

import type { ScorePlan, ScoringLm, SequenceState, TokenScores } from '../../src/engine/model/causal-lm';
import { scoreRows } from '../../src/engine/model/cpu-scores';
import type { ModelConfig } from '../../src/engine/model/config';
import { FakeLm, type NextLogits } from './fake-lm';

interface TokenList {
  tokens: number[];
}

export class ScoringFakeLm extends FakeLm implements ScoringLm {
  /** score() calls made, each with the number of scored requests. */
  readonly scoreCalls: number[] = [];

  constructor(config: ModelConfig, next: NextLogits) {
    super(config, next);
  }

  async score(plan: ScorePlan): Promise<TokenScores[]> {
    this.scoreCalls.push(plan.score.length);
    if (plan.prefill.length > 0) await this.extend(plan.prefill, 'last');
    for (const { source, target } of plan.forks) (target as unknown as TokenList).tokens.push(...(source as unknown as TokenList).tokens);
    const V = this.config.vocabSize;
    const all = await this.extend(
      plan.score.map((r) => ({ sequence: r.sequence, tokens: r.tokens })),
      'all',
    );
    return plan.score.map((r, i) => {
      const rows = r.targets.length;
      const logits = all[i].subarray((r.tokens.length - rows) * V);
      return scoreRows(Float64Array.from(logits), r.targets, V);
    });
  }

  rewindSequence(sequence: SequenceState, length: number): void {
    (sequence as unknown as TokenList).tokens.length = length;
  }
}

/** Logits that are 0 everywhere: every token has log-probability -ln V whatever came before. */
export const uniformLogits = (vocabSize: number): NextLogits => () => new Float32Array(vocabSize);
