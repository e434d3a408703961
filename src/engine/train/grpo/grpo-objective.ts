// GRPO as a training objective over sampled completions (TRL's GRPOTrainer._compute_loss). One example is
// one completion with its prompt and group-relative advantage; a micro-batch packs prompt + completion per
// sequence with labels on the completion's tokens (none when a truncated completion is masked). The loss
// types differ only in how token terms are weighted, which totals() fixes for the whole optimizer step:
//   grpo:    mean over each sequence's tokens, mean over the micro-batch's sequences, / micro-batches;
//   bnpo:    sum over the micro-batch's tokens / its tokens, / micro-batches;
//   dr_grpo: sum / (micro-batch sequences x max_completion_length), / micro-batches;
//   dapo:    sum / completion tokens of the whole accumulated step (TRL's num_items_in_batch).
// ("/ micro-batches" is TRL's division by current_gradient_accumulation_steps.)

import { evalNames, type EvalFields, type GpuGradientRule, type ObjectiveInput, type ObjectiveResult, type TrainingObjective } from '../objective';
import { IGNORE_INDEX, labelledCount, trainedTokens, type RolloutTerms, type TrainBatch, type TrainSequence } from '../train-batch';
import { grpoNeedsReference, type GrpoConfig } from './grpo-config';
import { tokenTerm } from './grpo-math';

/** One sampled completion, ready to train on. */
export interface RolloutSample {
  /** Prompt token ids (at least one). */
  prompt: readonly number[];
  /** The sampled tokens (the EOS that ended them included). */
  completion: readonly number[];
  advantage: number;
  /** The completion hit the length limit without ending. */
  truncated: boolean;
  /** (completion.length) log p of each completion token under the policy that sampled it (num_iterations > 1). */
  oldLogps?: Float64Array;
  /** (completion.length) under the frozen reference (beta > 0). */
  refLogps?: Float64Array;
}

export interface GrpoTotals {
  /** Per sequence of the step (by identity): the weight of each of its loss tokens. */
  tokenWeight: Map<TrainSequence, number>;
}

/** (T) values at the label positions of the completion's tokens: completion token j is labels[P - 1 + j]. */
function alignToPositions(values: Float64Array | undefined, promptLength: number, T: number, what: string): Float64Array | undefined {
  if (!values) return undefined;
  if (values.length !== T - promptLength) throw new RangeError(`GRPO: ${values.length} ${what} log-probabilities for ${T - promptLength} completion tokens`);
  const out = new Float64Array(T);
  out.set(values, promptLength - 1);
  return out;
}

export function rolloutSequence(sample: RolloutSample, maskTruncated: boolean): TrainSequence {
  const P = sample.prompt.length;
  if (P < 1) throw new RangeError('GRPO: a rollout needs at least one prompt token');
  const inputIds = Int32Array.from([...sample.prompt, ...sample.completion]);
  const T = inputIds.length;
  const labels = new Int32Array(T).fill(IGNORE_INDEX);
  if (!(maskTruncated && sample.truncated)) for (let t = P - 1; t + 1 < T; t++) labels[t] = inputIds[t + 1];
  const rollout: RolloutTerms = {
    advantage: sample.advantage,
    oldLogps: alignToPositions(sample.oldLogps, P, T, 'old'),
    refLogps: alignToPositions(sample.refLogps, P, T, 'reference'),
  };
  return { inputIds, labels, rollout };
}

/** Sequence i's rollout terms and per-token weight in the step, checked: what evaluate and gpuGradient read. */
function sequenceTerms(s: TrainSequence, i: number, totals: GrpoTotals, beta: number): { terms: RolloutTerms; w: number } {
  const terms = s.rollout;
  if (!terms) throw new Error(`GRPO: sequence ${i} of the batch is not a rollout (it has no advantage)`);
  const w = totals.tokenWeight.get(s);
  if (w === undefined) throw new Error(`GRPO: sequence ${i} is not part of the step the totals were computed for`);
  if (beta !== 0 && !terms.refLogps) throw new Error(`GRPO with beta ${beta} needs the reference's log-probabilities: sequence ${i} has none`);
  return { terms, w };
}

export class GrpoObjective implements TrainingObjective<RolloutSample, GrpoTotals> {
  readonly method = 'grpo';
  /** The reference's log-probabilities are computed once per generation batch and travel with the samples. */
  readonly needsReference = false;

  /** With beta > 0 the KL term reads the reference's log-probabilities (scored by the rollout feed). */
  get readsReference(): boolean {
    return grpoNeedsReference(this.config);
  }

  constructor(readonly config: GrpoConfig) {}

  /** TRL divides the logits by the sampling temperature for every log-probability the loss reads. */
  get logitTemperature(): number {
    return this.config.temperature;
  }

  batch(samples: readonly RolloutSample[]): TrainBatch {
    return { sequences: samples.map((s) => rolloutSequence(s, this.config.maskTruncatedCompletions)) };
  }

  totals(batches: readonly TrainBatch[]): GrpoTotals {
    const accum = batches.length;
    if (accum === 0) throw new RangeError('the step has no micro-batches');
    const tokenWeight = new Map<TrainSequence, number>();
    // Loss tokens per sequence, per micro-batch and of the step.
    const counts = batches.map((b) => b.sequences.map(labelledCount));
    const batchTokens = counts.map((c) => c.reduce((a, n) => a + n, 0));
    const stepTokens = batchTokens.reduce((a, n) => a + n, 0);
    for (const [m, b] of batches.entries()) {
      const B = b.sequences.length;
      if (B === 0) throw new RangeError('a GRPO micro-batch has no completions');
      const tokens = batchTokens[m];
      for (const [k, s] of b.sequences.entries()) {
        let w: number;
        switch (this.config.lossType) {
          case 'grpo':
            w = 1 / (Math.max(1, counts[m][k]) * B * accum);
            break;
          case 'bnpo':
            w = 1 / (Math.max(1, tokens) * accum);
            break;
          case 'dr_grpo':
            w = 1 / (B * this.config.maxCompletionLength * accum);
            break;
          case 'dapo':
            w = 1 / Math.max(1, stepTokens);
            break;
        }
        tokenWeight.set(s, w);
      }
    }
    return { tokenWeight };
  }

  evaluate(input: ObjectiveInput, totals: GrpoTotals): ObjectiveResult {
    const { epsilon, epsilonHigh, beta } = this.config;
    let loss = 0;
    let tokens = 0;
    let kl = 0;
    let low = 0;
    let high = 0;
    let lowMin = Infinity;
    let highMax = -Infinity;
    const tokenGrads = input.batch.sequences.map((s, i) => {
      const { terms, w } = sequenceTerms(s, i, totals, beta);
      const logps = input.policy[i];
      const grads = new Float64Array(s.labels.length);
      let seqTokens = 0;
      let seqLow = 0;
      let seqHigh = 0;
      for (let t = 0; t < s.labels.length; t++) {
        if (s.labels[t] === IGNORE_INDEX) continue;
        const term = tokenTerm({
          logp: logps[t],
          oldLogp: terms.oldLogps ? terms.oldLogps[t] : logps[t],
          refLogp: terms.refLogps ? terms.refLogps[t] : 0,
          advantage: terms.advantage,
          epsilonLow: epsilon,
          epsilonHigh,
          beta,
        });
        loss += w * term.loss;
        grads[t] = w * term.dLogp;
        kl += term.kl;
        seqTokens++;
        if (term.lowClipped) seqLow++;
        if (term.highClipped) seqHigh++;
      }
      tokens += seqTokens;
      low += seqLow;
      high += seqHigh;
      // TRL's low_min / high_max are over per-sequence means; a sequence without loss tokens gives NaN there (skipped).
      if (seqTokens > 0) {
        lowMin = Math.min(lowMin, seqLow / seqTokens);
        highMax = Math.max(highMax, seqHigh / seqTokens);
      }
      return grads;
    });
    const perToken = (x: number) => (tokens > 0 ? x / tokens : 0);
    const metrics: Record<string, number> = {
      'clip_ratio/low_mean': perToken(low),
      'clip_ratio/high_mean': perToken(high),
      'clip_ratio/region_mean': perToken(low + high),
      'clip_ratio/low_min': Number.isFinite(lowMin) ? lowMin : 0,
      'clip_ratio/high_max': Number.isFinite(highMax) ? highMax : 0,
    };
    if (beta !== 0) metrics.kl = perToken(kl);
    return { loss, tokenGrads, metrics };
  }

  gpuGradient(batch: TrainBatch, totals: GrpoTotals): GpuGradientRule {
    const N = batch.sequences.reduce((n, s) => n + s.inputIds.length, 0);
    // Per packed row: (token weight, advantage, old log p, reference log p); weight 0 where no loss token.
    const rows = new Float32Array(4 * N);
    const withOld = batch.sequences.filter((s) => s.rollout?.oldLogps).length;
    if (withOld !== 0 && withOld !== batch.sequences.length) throw new Error('GRPO: some completions of the micro-batch carry old log-probabilities and some do not');
    let row = 0;
    batch.sequences.forEach((s, i) => {
      const { terms, w } = sequenceTerms(s, i, totals, this.config.beta);
      for (let t = 0; t < s.inputIds.length; t++, row++) {
        if (s.labels[t] === IGNORE_INDEX) continue;
        rows[4 * row] = w;
        rows[4 * row + 1] = terms.advantage;
        rows[4 * row + 2] = terms.oldLogps ? terms.oldLogps[t] : 0;
        rows[4 * row + 3] = terms.refLogps ? terms.refLogps[t] : 0;
      }
    });
    return { kind: 'grpo', rows, oldFromPolicy: withOld === 0, epsilonLow: this.config.epsilon, epsilonHigh: this.config.epsilonHigh, beta: this.config.beta };
  }

  evalFields(result: ObjectiveResult, batch: TrainBatch): EvalFields {
    return { eval_loss: result.loss, eval_tokens: trainedTokens(batch), objective: evalNames(result.metrics) };
  }

  promptOf(sample: RolloutSample): number[] {
    return [...sample.prompt];
  }

  tokensOf(sample: RolloutSample): number {
    return sample.prompt.length + sample.completion.length;
  }
}
