// Supervised fine-tuning as an objective: token cross-entropy, the mean over every trained token of the
// optimizer step (Hugging Face's convention: labels shifted by one, ignored positions not counted), so the
// gradient of each trained token's log-probability is -1 / (trained tokens of the step).

import type { TokenizedExample } from '../../data/tokenize-sft';
import type { EvalFields, ObjectiveInput, ObjectiveResult, TrainingObjective } from '../objective';
import { IGNORE_INDEX, shiftedLabels, trainedTokens, type TrainBatch } from '../train-batch';

export interface SftTotals {
  /** Trained tokens over all micro-batches of the step. */
  trainedTokens: number;
}

/** The prompt part of an example (its tokens before the first trained one), at least one token. */
export function sftPromptOf(e: TokenizedExample): number[] {
  const first = e.trainMask.findIndex((m, i) => m === 1 && i > 0);
  return e.inputIds.slice(0, first < 0 ? 1 : Math.max(1, first));
}

export class SftObjective implements TrainingObjective<TokenizedExample, SftTotals> {
  readonly method = 'sft';
  readonly needsReference = false;
  readonly readsReference = false;

  batch(examples: readonly TokenizedExample[]): TrainBatch {
    return { sequences: examples.map((e) => ({ inputIds: Int32Array.from(e.inputIds), labels: shiftedLabels(e.inputIds, e.trainMask) })) };
  }

  totals(batches: readonly TrainBatch[]): SftTotals {
    const n = batches.reduce((sum, b) => sum + trainedTokens(b), 0);
    if (n === 0) throw new RangeError('the step has no trained tokens (every label is ignored)');
    return { trainedTokens: n };
  }

  evaluate(input: ObjectiveInput, totals: SftTotals): ObjectiveResult {
    const scale = 1 / totals.trainedTokens;
    let sum = 0;
    const tokenGrads = input.batch.sequences.map((s, i) => {
      const logps = input.policy[i];
      const grads = new Float64Array(s.labels.length);
      s.labels.forEach((label, t) => {
        if (label === IGNORE_INDEX) return;
        sum -= logps[t];
        grads[t] = -scale;
      });
      return grads;
    });
    return { loss: sum * scale, tokenGrads, metrics: {} };
  }

  gpuGradient(_batch: TrainBatch, totals: SftTotals) {
    return { kind: 'constant', scale: 1 / totals.trainedTokens } as const;
  }

  evalFields(result: ObjectiveResult, batch: TrainBatch): EvalFields {
    return { eval_loss: result.loss, eval_perplexity: Math.exp(result.loss), eval_tokens: trainedTokens(batch), objective: {} };
  }

  promptOf(e: TokenizedExample): number[] {
    return sftPromptOf(e);
  }

  tokensOf(e: TokenizedExample): number {
    return e.inputIds.length;
  }
}
