// The training-objective seam: what one micro-batch holds, how the per-token log-probabilities the model
// computes reduce to the loss, its gradient per token and the metrics, and which gradient rule the GPU runs
// mid-step. SFT (objectives/sft-objective.ts), the preference family (objectives/preference-objective.ts)
// and GRPO (grpo/grpo-objective.ts, over completions the model sampled) are the implementations; the loop (train-loop.ts), both backends, the CLI and the studio take an
// objective as data.
//
// Every objective's loss is a function of log p(label_t) of the labelled tokens (for the policy, and for
// DPO also the frozen reference): the backends compute those and the gradient of the loss with respect to
// each (tokenGrads); the chain through the softmax and the model is theirs. The loss of an optimizer step
// is normalised by totals over ALL its micro-batches (SFT: trained tokens; DPO: pairs), so gradient
// accumulation adds micro-batch gradients without rescaling.

import type { PreferenceConfig, PreferenceMethod } from './objectives/preference-config';
import type { TrainBatch } from './train-batch';

export type ObjectiveMethod = 'sft' | PreferenceMethod | 'grpo';

/** Per sequence, log p(labels[t]) at every position t (0 where the label is ignored). */
export type TokenLogps = Float64Array[];

export interface ObjectiveInput {
  batch: TrainBatch;
  /** The model being trained. */
  policy: TokenLogps;
  /** The frozen reference, when computed in the step (else batch.reference holds its sums, or none is needed). */
  reference?: TokenLogps;
}

export interface ObjectiveResult {
  loss: number;
  /** Per sequence and position: d loss / d policy log p(labels[t]) (0 where the label is ignored). */
  tokenGrads: Float64Array[];
  /** Objective metrics under TRL's names (rewards/chosen, ...); empty for SFT. */
  metrics: Record<string, number>;
}

/**
 * How the GPU computes d loss / d (row loss = -log p) for every row between the LM head's forward and
 * backward, within the step's one submit (it must agree with evaluate's tokenGrads):
 * - constant: `scale` on every labelled row (SFT: 1 / trained tokens of the step);
 * - preference: the preference kernel from per-sequence sums (ops/gpu/preference-grad.ts).
 */
export type GpuGradientRule =
  | { kind: 'constant'; scale: number }
  | { kind: 'preference'; config: PreferenceConfig; pairs: number; chosenTokens: number }
  | GrpoGradientRule;

/**
 * GRPO (grpo/grpo-objective.ts): per packed row (token weight, advantage, old log p, reference log p), the
 * weight 0 where the row has no loss token; with oldFromPolicy the ratio is 1 (num_iterations 1).
 */
export interface GrpoGradientRule {
  kind: 'grpo';
  /** (N, 4) f32. */
  rows: Float32Array;
  oldFromPolicy: boolean;
  epsilonLow: number;
  epsilonHigh: number;
  beta: number;
}

/** The held-out evaluation row of a run's metrics (eval_ names, as TRL logs them). */
export interface EvalFields {
  eval_loss: number;
  /** SFT only: exp(eval_loss). */
  eval_perplexity?: number;
  /** Tokens whose log-probabilities the loss read. */
  eval_tokens: number;
  objective: Record<string, number>;
}

export interface TrainingObjective<Example = unknown, Totals = unknown> {
  readonly method: ObjectiveMethod;
  /** Whether the loss reads a frozen reference's log-probabilities. */
  readonly needsReference: boolean;
  /**
   * Whether the loss reads the frozen reference at all (so the backend must hold it: base + the initial adapter
   * when there is one): needsReference, or scored by the step feed once per generation (GRPO with beta > 0).
   */
  readonly readsReference: boolean;
  /**
   * The loss reads log softmax(logits / logitTemperature) (policy and reference alike); absent: 1. GRPO's is
   * the sampling temperature, as TRL's _get_per_token_logps_and_entropies divides the logits by it.
   */
  readonly logitTemperature?: number;
  /** One micro-batch of packed sequences for these examples. */
  batch(examples: readonly Example[]): TrainBatch;
  /** What normalises an optimizer step's loss, over all its micro-batches. */
  totals(batches: readonly TrainBatch[]): Totals;
  /** float64: the loss of `input.batch` (normalised by `totals`), d loss / d log p per token, and metrics. */
  evaluate(input: ObjectiveInput, totals: Totals): ObjectiveResult;
  /** The GPU's mid-step gradient rule for one micro-batch of a step with these totals. */
  gpuGradient(batch: TrainBatch, totals: Totals): GpuGradientRule;
  /** The evaluation row from evaluate's result over a whole held-out set. */
  evalFields(result: ObjectiveResult, batch: TrainBatch): EvalFields;
  /** Prompt token ids of an example: what sample generations start from. */
  promptOf(example: Example): number[];
  /** Tokens of an example (all positions), for throughput. */
  tokensOf(example: Example): number;
}

/** Metrics under their held-out names, as TRL logs evaluation rows: each key with an `eval_` prefix. */
export function evalNames(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([name, value]) => [`eval_${name}`, value]));
}

/** Concatenates micro-batches (their sequences and precomputed reference sums) into one. */
export function mergeBatches(batches: readonly TrainBatch[]): TrainBatch {
  const sequences = batches.flatMap((b) => b.sequences);
  if (!batches.some((b) => b.reference)) return { sequences };
  if (!batches.every((b) => b.reference)) throw new Error('mergeBatches: some micro-batches carry reference log-probabilities and some do not');
  const reference = new Float64Array(sequences.length);
  let at = 0;
  for (const b of batches) {
    reference.set(b.reference!, at);
    at += b.sequences.length;
  }
  return { sequences, reference };
}
