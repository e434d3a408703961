// The step feed of dataset objectives: batchSize x gradAccum examples per optimizer step in seeded order,
// carrying the reference's precomputed log-probabilities when there are any. When the device runs out of
// memory for the reference's pass in the step (DPO), the reference is precomputed instead and the same
// examples are trained again: the precompute is what short memory needs.

import type { DataCursor } from './data-order';
import { DataOrder } from './data-order';
import { GpuOutOfMemoryError } from '../gpu/errors';
import type { EvalFields, TrainingObjective } from './objective';
import { precomputeReference, withReference, type ReferenceSums } from './reference-cache';
import type { FedStep, StepFeed } from './step-feed';
import type { TrainerBackend } from './trainer-backend';
import { evaluateSet } from './evaluate-set';

export interface DatasetFeedOptions {
  batchSize: number;
  gradAccum: number;
  seed: number;
  /** Compute the reference's log-probabilities once before training (TRL's precompute_ref_log_probs). */
  precomputeReference?: boolean;
  onReferenceProgress?(done: number, total: number): void;
  onReferenceFallback?(reason: string): void | Promise<void>;
}

export class DatasetFeed<E, T> implements StepFeed {
  private readonly order: DataOrder;
  private trainRefs: ReferenceSums | undefined;
  private evalRefs: ReferenceSums | undefined;
  /** The example indices of the step in flight, per micro-batch. */
  private indices: number[][] = [];

  constructor(
    private readonly backend: TrainerBackend,
    private readonly objective: TrainingObjective<E, T>,
    private readonly train: readonly E[],
    private readonly evalSet: readonly E[] | undefined,
    private readonly o: DatasetFeedOptions,
    cursor?: DataCursor,
  ) {
    this.order = new DataOrder(train.length, o.seed, cursor);
  }

  async prepare(): Promise<void> {
    // The reference never changes: its log-probabilities can be computed once (before the first update, or
    // again on resume: the reference is the frozen starting point, not the resumed adapter).
    if (this.o.precomputeReference && this.objective.needsReference) await this.precomputeAll();
  }

  async next(): Promise<FedStep> {
    this.indices = Array.from({ length: this.o.gradAccum }, () => this.order.take(this.o.batchSize));
    return { micro: this.microBatches() };
  }

  async recover(err: unknown): Promise<FedStep | undefined> {
    // Memory is short for the reference's pass in the step: score the reference once, then train without it.
    if (!(err instanceof GpuOutOfMemoryError) || !this.objective.needsReference || this.trainRefs) return undefined;
    await this.o.onReferenceFallback?.(err.message);
    await this.precomputeAll();
    return { micro: this.microBatches() };
  }

  async evaluate(): Promise<EvalFields | undefined> {
    if (!this.evalSet?.length) return undefined;
    return evaluateSet(this.backend, this.objective, this.evalSet, this.o.batchSize, this.evalRefs);
  }

  cursor(): DataCursor {
    return this.order.state;
  }

  epoch(): number {
    return this.order.consumed / this.train.length;
  }

  private microBatches() {
    return this.indices.map((ids) => withReference(this.objective.batch(ids.map((i) => this.train[i])), this.trainRefs, ids));
  }

  private async precomputeAll(): Promise<void> {
    const progress = this.o.onReferenceProgress;
    const total = this.train.length + (this.evalSet?.length ?? 0);
    const { backend, objective, train, evalSet } = this;
    this.trainRefs = await precomputeReference(backend, objective, train, this.o.batchSize, progress && ((d) => progress(d, total)));
    if (evalSet?.length) this.evalRefs = await precomputeReference(backend, objective, evalSet, this.o.batchSize, progress && ((d) => progress(train.length + d, total)));
  }
}
