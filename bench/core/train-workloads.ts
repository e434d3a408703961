// What each objective of the training bench trains per step, built through the product's own objectives
// (makeObjective) from the same random preference pairs: step k of every objective sees the same prompts and
// chosen answers, so SFT and DPO differ only in what DPO adds.
//
// A pair is a prompt of about T/4 random ids and two answers of the remaining length (chosen, rejected), so
// every sequence has exactly T tokens. SFT trains prompt + chosen with labels on the answer only (what SFT
// on the chosen answers trains); DPO packs chosen and rejected (2B sequences). 'dpo-cached' carries the
// reference's summed answer log-probabilities, computed before the step (untimed, as the training loop
// precomputes them before training), so no reference pass runs; 'dpo-ref' runs the reference's forward
// (the adapter switched off) in the step's submit.

import type { TokenizedPair } from '../../src/engine/data/tokenize-preference';
import type { ObjectiveInput } from '../../src/engine/train/objective';
import { makeObjective } from '../../src/engine/train/objectives/make-objective';
import { rowLossesToLogps, type GpuTrainer, type MicroBatchResult } from '../../src/engine/train/gpu/gpu-train-step';
import { responseSum, type TrainBatch } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import type { StepInput } from './step-watch';
import type { TrainObjectiveId } from './types';

/** A step ready to time, and how its loss follows from what it read back (float64, untimed). */
export interface PreparedStep extends StepInput {
  loss(result: MicroBatchResult): number;
}

export interface Workload {
  objective: TrainObjectiveId;
  label: string;
  /** Sequences per step for B pairs. */
  sequences(pairs: number): number;
  referencePass: boolean;
  /** Untimed: the micro-batch of these pairs with everything the step needs beforehand. */
  prepare(trainer: GpuTrainer, pairs: readonly TokenizedPair[]): Promise<PreparedStep>;
}

/** Prompt tokens of a T-token sequence: about a quarter, at least 1, leaving an answer of at least 1. */
export function promptTokens(T: number): number {
  if (!Number.isInteger(T) || T < 2) throw new RangeError(`a prompt and an answer need T >= 2 tokens, got ${T}`);
  return Math.min(T - 1, Math.max(1, Math.round(T / 4)));
}

/** Step k's B pairs of random ids in [0, V): the same for every objective (seeded by k). */
export function randomPairs(k: number, B: number, T: number, V: number): TokenizedPair[] {
  const rng = new Rng(0x5eed + 7919 * k);
  const ids = (n: number) => Array.from({ length: n }, () => rng.int(V));
  const P = promptTokens(T);
  return Array.from({ length: B }, (_, line) => ({ line, prompt: ids(P), chosen: ids(T - P), rejected: ids(T - P) }));
}

function finite(what: string, loss: number): number {
  if (!Number.isFinite(loss)) throw new Error(`${what}: loss ${loss} (not finite)`);
  return loss;
}

function sftWorkload(): Workload {
  const objective = makeObjective('sft');
  return {
    objective: 'sft',
    label: 'SFT on the chosen answers (prompt unlabelled)',
    sequences: (pairs) => pairs,
    referencePass: false,
    async prepare(_trainer, pairs) {
      const examples = pairs.map((p) => ({
        line: p.line,
        inputIds: [...p.prompt, ...p.chosen],
        trainMask: [...p.prompt.map(() => 0), ...p.chosen.map(() => 1)],
      }));
      const batch = objective.batch(examples);
      const totals = objective.totals([batch]);
      return {
        batch,
        rule: objective.gpuGradient(batch, totals),
        referencePass: false,
        loss: (r) => finite('SFT', objective.evaluate({ batch, policy: rowLossesToLogps(batch, r.rowLoss) }, totals).loss),
      };
    },
  };
}

function dpoWorkload(cached: boolean): Workload {
  const objective = makeObjective('dpo');
  const { lossType, beta } = objective.config;
  const name = `DPO (${lossType}, beta ${beta})`;
  return {
    objective: cached ? 'dpo-cached' : 'dpo-ref',
    label: cached ? `${name}, reference log-probabilities precomputed` : `${name}, reference pass in the step`,
    sequences: (pairs) => 2 * pairs,
    referencePass: !cached,
    async prepare(trainer, pairs) {
      let batch: TrainBatch = objective.batch(pairs);
      if (cached) {
        // The loop's precompute (reference-cache.ts): the reference's forward, summed over each answer.
        const logps = rowLossesToLogps(batch, await trainer.rowLosses(batch, 'reference'));
        batch = { ...batch, reference: Float64Array.from(batch.sequences, (s, i) => responseSum(s, logps[i]).sum) };
      }
      const totals = objective.totals([batch]);
      const stepBatch = batch;
      return {
        batch: stepBatch,
        rule: objective.gpuGradient(stepBatch, totals),
        referencePass: !cached,
        loss: (r) => {
          const input: ObjectiveInput = { batch: stepBatch, policy: rowLossesToLogps(stepBatch, r.rowLoss) };
          if (!cached) {
            if (!r.referenceRowLoss) throw new Error('the reference pass read back no row losses');
            input.reference = rowLossesToLogps(stepBatch, r.referenceRowLoss);
          }
          return finite(name, objective.evaluate(input, totals).loss);
        },
      };
    },
  };
}

export function makeWorkload(id: TrainObjectiveId): Workload {
  return id === 'sft' ? sftWorkload() : dpoWorkload(id === 'dpo-cached');
}
