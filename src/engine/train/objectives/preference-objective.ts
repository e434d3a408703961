// DPO, SimPO and ORPO as one objective over preference pairs. A micro-batch of k pairs packs 2k sequences,
// pair p's chosen answer at index 2p and its rejected answer at 2p + 1 (TRL concatenates chosen and
// rejected into one forward the same way). Each sequence is prompt + answer; the answer's tokens are the
// response (their log-probabilities, summed or averaged, make the pair's loss). ORPO also trains the NLL of
// the chosen sequence over ALL its tokens, prompt included, as TRL's ORPOTrainer does ("orpo chosen nll
// loss is computed over the full prompt and response"), normalised by the chosen tokens of the whole step.
// The pair terms are averaged over the step's pairs (TRL: per_sequence_loss.mean()).

import type { TokenizedPair } from '../../data/tokenize-preference';
import { evalNames, type EvalFields, type GpuGradientRule, type ObjectiveInput, type ObjectiveResult, type TrainingObjective } from '../objective';
import { IGNORE_INDEX, isResponse, labelledCount, responseCount, responseSum, type TrainBatch, type TrainSequence } from '../train-batch';
import { needsReference, type PreferenceConfig } from './preference-config';
import { pairLoss, type PairLoss } from './preference-math';

export interface PreferenceTotals {
  /** Pairs over all micro-batches of the step. */
  pairs: number;
  /** Labelled tokens of the chosen sequences of the step (ORPO's NLL denominator; prompt included). */
  chosenTokens: number;
}

/** One answer as a sequence: prompt + answer, labels on the answer (and, with `labelPrompt`, the prompt). */
function pairSequence(prompt: readonly number[], answer: readonly number[], labelPrompt: boolean): TrainSequence {
  const inputIds = Int32Array.from([...prompt, ...answer]);
  const T = inputIds.length;
  const labels = new Int32Array(T).fill(IGNORE_INDEX);
  const response = new Uint8Array(T);
  // Position t predicts token t + 1: the answer's tokens are predicted from positions prompt.length - 1 on.
  for (let t = 0; t + 1 < T; t++) {
    const isAnswer = t + 1 >= prompt.length;
    if (isAnswer || labelPrompt) labels[t] = inputIds[t + 1];
    if (isAnswer) response[t] = 1;
  }
  return { inputIds, labels, response };
}

function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

export class PreferenceObjective implements TrainingObjective<TokenizedPair, PreferenceTotals> {
  readonly method: PreferenceConfig['method'];
  readonly needsReference: boolean;
  readonly readsReference: boolean;

  constructor(readonly config: PreferenceConfig) {
    this.method = config.method;
    this.needsReference = needsReference(config.method);
    this.readsReference = this.needsReference;
  }

  batch(pairs: readonly TokenizedPair[]): TrainBatch {
    const nll = this.method === 'orpo';
    return { sequences: pairs.flatMap((p) => [pairSequence(p.prompt, p.chosen, nll), pairSequence(p.prompt, p.rejected, false)]) };
  }

  totals(batches: readonly TrainBatch[]): PreferenceTotals {
    let pairs = 0;
    let chosenTokens = 0;
    for (const b of batches) {
      if (b.sequences.length % 2 !== 0) throw new RangeError(`a preference micro-batch holds pairs: ${b.sequences.length} sequences is odd`);
      pairs += b.sequences.length / 2;
      for (let i = 0; i < b.sequences.length; i += 2) chosenTokens += labelledCount(b.sequences[i]);
    }
    if (pairs === 0) throw new RangeError('the step has no preference pairs');
    return { pairs, chosenTokens };
  }

  evaluate(input: ObjectiveInput, totals: PreferenceTotals): ObjectiveResult {
    const { sequences } = input.batch;
    const tokenGrads = sequences.map((s) => new Float64Array(s.labels.length));
    const terms: PairLoss[] = [];
    let loss = 0;
    for (let c = 0; c < sequences.length; c += 2) {
      const r = c + 1;
      const chosen = responseSum(sequences[c], input.policy[c]);
      const rejected = responseSum(sequences[r], input.policy[r]);
      const term = pairLoss(this.config, {
        chosen: chosen.sum,
        rejected: rejected.sum,
        chosenTokens: chosen.count,
        rejectedTokens: rejected.count,
        ...this.referenceOf(input, c),
      });
      terms.push(term);
      loss += term.loss / totals.pairs;
      this.addResponseGrad(tokenGrads[c], sequences[c], term.dChosen / totals.pairs);
      this.addResponseGrad(tokenGrads[r], sequences[r], term.dRejected / totals.pairs);
    }
    const metrics = this.pairMetrics(terms);
    if (this.method === 'orpo') {
      let nll = 0;
      let tokens = 0;
      for (let c = 0; c < sequences.length; c += 2) {
        sequences[c].labels.forEach((label, t) => {
          if (label === IGNORE_INDEX) return;
          nll -= input.policy[c][t];
          tokens++;
          tokenGrads[c][t] -= 1 / totals.chosenTokens;
        });
      }
      loss += nll / totals.chosenTokens;
      metrics.nll_loss = tokens ? nll / tokens : 0;
      metrics.log_odds_ratio = mean(terms.map((t) => t.logOddsRatio!));
      metrics.log_odds_chosen = mean(terms.map((t) => t.logOddsChosen!));
    }
    return { loss, tokenGrads, metrics };
  }

  gpuGradient(_batch: TrainBatch, totals: PreferenceTotals): GpuGradientRule {
    return { kind: 'preference', config: this.config, pairs: totals.pairs, chosenTokens: totals.chosenTokens };
  }

  evalFields(result: ObjectiveResult, batch: TrainBatch): EvalFields {
    const objective = evalNames(result.metrics);
    const tokens = batch.sequences.reduce((n, s) => n + responseCount(s), 0);
    return { eval_loss: result.loss, eval_tokens: tokens, objective };
  }

  promptOf(p: TokenizedPair): number[] {
    return p.prompt.length ? [...p.prompt] : p.chosen.slice(0, 1);
  }

  tokensOf(p: TokenizedPair): number {
    return 2 * p.prompt.length + p.chosen.length + p.rejected.length;
  }

  /** The reference's summed answer log-probabilities of pair (c, c + 1): precomputed, from the step, or none. */
  private referenceOf(input: ObjectiveInput, c: number): { refChosen?: number; refRejected?: number } {
    if (!this.needsReference) return {};
    const { batch } = input;
    if (batch.reference) return { refChosen: batch.reference[c], refRejected: batch.reference[c + 1] };
    if (!input.reference) throw new Error(`${this.method.toUpperCase()} needs the reference log-probabilities: none were computed for this batch`);
    return {
      refChosen: responseSum(batch.sequences[c], input.reference[c]).sum,
      refRejected: responseSum(batch.sequences[c + 1], input.reference[c + 1]).sum,
    };
  }

  private addResponseGrad(grads: Float64Array, s: TrainSequence, g: number): void {
    for (let t = 0; t < s.labels.length; t++) if (isResponse(s, t)) grads[t] += g;
  }

  /** TRL's logged metrics, as means over the batch's pairs. */
  private pairMetrics(terms: readonly PairLoss[]): Record<string, number> {
    return {
      'rewards/chosen': mean(terms.map((t) => t.rewardChosen)),
      'rewards/rejected': mean(terms.map((t) => t.rewardRejected)),
      // Strictly greater, as TRL's (chosen_rewards > rejected_rewards).float(): a tie counts as wrong.
      'rewards/accuracies': mean(terms.map((t) => (t.rewardChosen > t.rewardRejected ? 1 : 0))),
      'rewards/margins': mean(terms.map((t) => t.rewardChosen - t.rewardRejected)),
      'logps/chosen': mean(terms.map((t) => t.logpChosen)),
      'logps/rejected': mean(terms.map((t) => t.logpRejected)),
      // Ours, not TRL's: the share of pairs whose chosen answer the model itself finds more likely.
      'logps/accuracy': mean(terms.map((t) => (t.logpChosen > t.logpRejected ? 1 : 0))),
    };
  }
}
