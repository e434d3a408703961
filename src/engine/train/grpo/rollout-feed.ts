// GRPO's step feed (TRL's _prepare_inputs / _generate_and_score_completions): every num_iterations optimizer
// steps it takes batchSize x gradAccum / G prompts in seeded order, has the source sample and score G
// completions of each, turns the rewards into group-relative advantages and splits the completions into
// gradAccum micro-batches of batchSize. With num_iterations > 1 the policy's log-probabilities are scored
// once at generation (the "old" ones every later iteration's ratio compares with); with beta > 0 so are the
// frozen reference's. The generation batch in use is part of the checkpoint, so a resume mid-way through its
// iterations trains on the same completions; its index seeds the sampler, so a resume also samples the same.

import { DataOrder, type DataCursor } from '../data-order';
import { evalNames, mergeBatches, type EvalFields, type TokenLogps } from '../objective';
import type { FedStep, StepFeed } from '../step-feed';
import type { TrainBatch } from '../train-batch';
import type { TrainerBackend } from '../trainer-backend';
import { groupAdvantages } from './grpo-math';
import type { GrpoObjective, RolloutSample } from './grpo-objective';
import { concat, rolloutMetrics } from './rollout-metrics';
import type { RewardFailure, RolloutSource, ScoredBatch } from './rollout-source';

/** One scored completion as the studio's table and the CLI's rollouts.jsonl show it. */
export interface RolloutRow {
  group: number;
  prompt: string;
  completion: string;
  tokens: number;
  truncated: boolean;
  reward: number;
  /** Per reward function. */
  rewards: Record<string, number>;
  advantage: number;
}

export interface RolloutReport {
  /** The optimizer step the completions train first (held-out: the step evaluated). */
  step: number;
  /** Generation batch index (-1 for held-out rollouts). */
  generation: number;
  rows: RolloutRow[];
  failures: RewardFailure[];
  /** Generated tokens per second of the sampling (0 for fixed completions). */
  tokensPerSecond: number;
}

export interface RolloutHooks {
  /** Each new generation batch, after scoring. */
  onRollouts?(report: RolloutReport): void | Promise<void>;
  /** Each evaluation's held-out rollouts. */
  onEvalRollouts?(report: RolloutReport): void | Promise<void>;
}

export interface RolloutFeedOptions {
  /** Completions per micro-batch (TRL's per_device_train_batch_size). */
  batchSize: number;
  gradAccum: number;
  seed: number;
  hooks?: RolloutHooks;
}

interface SavedSample {
  prompt: number[];
  completion: number[];
  advantage: number;
  truncated: boolean;
  oldLogps?: number[];
  refLogps?: number[];
}

/** What a checkpoint holds of the feed. */
export interface RolloutFeedState {
  /** Index of the next generation batch (its sampler seed derives from it). */
  generation: number;
  /** The generation batch in use and how many of its num_iterations steps have trained on it. */
  buffer?: { uses: number; samples: SavedSample[]; metrics: Record<string, number> };
}

interface Buffer {
  uses: number;
  samples: RolloutSample[];
  micro: TrainBatch[];
  metrics: Record<string, number>;
}

/** Generated tokens per second of sampling (0 for fixed completions). */
function tokensPerSecond(scored: ScoredBatch): number {
  return scored.generationSeconds > 0 ? scored.generatedTokens / scored.generationSeconds : 0;
}

function isFeedState(x: unknown): x is RolloutFeedState {
  return typeof x === 'object' && x !== null && Number.isInteger((x as RolloutFeedState).generation);
}

export class RolloutFeed implements StepFeed {
  private order: DataOrder;
  private generation = 0;
  private buffer: Buffer | undefined;
  /** The optimizer step the next next() call feeds (for reports). */
  private step = 0;
  readonly promptsPerGeneration: number;

  constructor(
    private readonly backend: TrainerBackend,
    private readonly objective: GrpoObjective,
    private readonly source: RolloutSource,
    private readonly o: RolloutFeedOptions,
    resume?: { step: number; cursor: DataCursor; feed?: unknown },
  ) {
    const G = objective.config.numGenerations;
    const completions = o.batchSize * o.gradAccum;
    // TRL: the generation batch (per-device batch x accumulation) must be divisible by num_generations.
    if (completions % G !== 0) {
      throw new RangeError(`batch size x gradient accumulation (${o.batchSize} x ${o.gradAccum} = ${completions} completions) must be a multiple of num_generations (${G})`);
    }
    this.promptsPerGeneration = completions / G;
    this.order = new DataOrder(source.size, o.seed, resume?.cursor);
    if (resume) {
      this.step = resume.step;
      if (resume.feed !== undefined && !isFeedState(resume.feed)) throw new Error('the checkpoint\'s GRPO state is not readable');
      const state = resume.feed as RolloutFeedState | undefined;
      this.generation = state?.generation ?? 0;
      if (state?.buffer && state.buffer.uses < objective.config.numIterations) this.buffer = this.restoreBuffer(state.buffer);
    }
  }

  async next(signal?: AbortSignal): Promise<FedStep> {
    if (!this.buffer || this.buffer.uses >= this.objective.config.numIterations) this.buffer = await this.generate(signal);
    this.buffer.uses++;
    this.step++;
    return { micro: this.buffer.micro, metrics: this.buffer.metrics };
  }

  async evaluate(signal?: AbortSignal): Promise<EvalFields | undefined> {
    if (this.source.heldOutSize === 0) return undefined;
    const G = this.objective.config.numGenerationsEval;
    const scored = await this.source.heldOut(signal);
    const { samples, fracZeroStd } = this.samplesOf(scored, G);
    // Scored batchSize completions at a time, as training's micro-batches, so the held-out set never needs one pass.
    const chunks: TrainBatch[] = [];
    for (let at = 0; at < samples.length; at += this.o.batchSize) chunks.push(this.objective.batch(samples.slice(at, at + this.o.batchSize)));
    const withKl = this.objective.readsReference;
    if (withKl) await this.attachLogps(chunks, 'reference');
    // At ratio 1 only the KL term reads the policy's log-probabilities.
    const policy: TokenLogps = [];
    for (const chunk of chunks) policy.push(...(withKl ? await this.backend.logProbs(chunk, 'policy', this.scoring) : chunk.sequences.map((seq) => new Float64Array(seq.labels.length))));
    const batch = mergeBatches(chunks);
    const result = this.objective.evaluate({ batch, policy }, this.objective.totals(chunks));
    const fields = this.objective.evalFields(result, batch);
    Object.assign(fields.objective, evalNames(rolloutMetrics(scored, fracZeroStd)));
    await this.o.hooks?.onEvalRollouts?.(this.report(scored, samples, this.step, -1));
    return fields;
  }

  /** Old, reference and held-out log-probabilities at the sampling temperature, as the loss reads the policy's. */
  private get scoring(): { temperature: number } {
    return { temperature: this.objective.logitTemperature };
  }

  cursor(): DataCursor {
    return this.order.state;
  }

  epoch(): number {
    return this.order.consumed / this.source.size;
  }

  state(): RolloutFeedState {
    const b = this.buffer;
    if (!b || b.uses >= this.objective.config.numIterations) return { generation: this.generation };
    // The old and reference log-probabilities live in the sequences (one per sample, in order), position-aligned.
    const sequences = b.micro.flatMap((m) => m.sequences);
    const samples = b.samples.map((s, k) => {
      const from = s.prompt.length - 1;
      const completionLogps = (perPosition: Float64Array | undefined) => perPosition && Array.from(perPosition.subarray(from, from + s.completion.length));
      return {
        prompt: [...s.prompt],
        completion: [...s.completion],
        advantage: s.advantage,
        truncated: s.truncated,
        oldLogps: completionLogps(sequences[k].rollout?.oldLogps),
        refLogps: completionLogps(sequences[k].rollout?.refLogps),
      };
    });
    return { generation: this.generation, buffer: { uses: b.uses, samples, metrics: b.metrics } };
  }

  private restoreBuffer(saved: NonNullable<RolloutFeedState['buffer']>): Buffer {
    const samples: RolloutSample[] = saved.samples.map((s) => ({
      ...s,
      oldLogps: s.oldLogps && Float64Array.from(s.oldLogps),
      refLogps: s.refLogps && Float64Array.from(s.refLogps),
    }));
    return { uses: saved.uses, samples, micro: this.split(samples), metrics: saved.metrics };
  }

  private split(samples: readonly RolloutSample[]): TrainBatch[] {
    const { batchSize, gradAccum } = this.o;
    return Array.from({ length: gradAccum }, (_, m) => this.objective.batch(samples.slice(m * batchSize, (m + 1) * batchSize)));
  }

  /** Samples (group-major) with their advantages. */
  private samplesOf(scored: ScoredBatch, G: number): { samples: RolloutSample[]; fracZeroStd: number } {
    for (const g of scored.groups) if (g.completions.length !== G) throw new RangeError(`a group has ${g.completions.length} completions, expected ${G}`);
    const rewards = concat(scored.groups.map((g) => g.rewards));
    const adv = groupAdvantages(rewards, G, this.objective.config.scaleRewards);
    const samples = scored.groups.flatMap((g, gi) =>
      g.completions.map((c, k) => ({ prompt: g.prompt, completion: c.tokens, advantage: adv.advantages[gi * G + k], truncated: c.truncated })),
    );
    return { samples, fracZeroStd: adv.fracZeroStd };
  }

  /** Scores the batches' completions under `model` (at the sampling temperature) into their sequences' rollout terms. */
  private async attachLogps(batches: readonly TrainBatch[], model: 'policy' | 'reference'): Promise<void> {
    for (const batch of batches) {
      const logps = await this.backend.logProbs(batch, model, this.scoring);
      batch.sequences.forEach((seq, i) => {
        if (model === 'policy') seq.rollout!.oldLogps = logps[i];
        else seq.rollout!.refLogps = logps[i];
      });
    }
  }

  private async generate(signal?: AbortSignal): Promise<Buffer> {
    const before = this.order.state;
    try {
      const indices = this.order.take(this.promptsPerGeneration);
      const scored = await this.source.train(indices, this.generation, signal);
      const { samples, fracZeroStd } = this.samplesOf(scored, this.objective.config.numGenerations);
      const micro = this.split(samples);
      if (this.objective.config.numIterations > 1) await this.attachLogps(micro, 'policy');
      if (this.objective.readsReference) await this.attachLogps(micro, 'reference');
      const metrics = rolloutMetrics(scored, fracZeroStd);
      if (scored.generationSeconds > 0) metrics.rollout_tokens_per_s = tokensPerSecond(scored);
      metrics.rollout_seconds = scored.generationSeconds;
      metrics.reward_seconds = scored.rewardSeconds;
      await this.o.hooks?.onRollouts?.(this.report(scored, samples, this.step + 1, this.generation));
      this.generation++;
      return { uses: 0, samples, micro, metrics };
    } catch (err) {
      this.order = new DataOrder(this.source.size, this.o.seed, before);
      throw err;
    }
  }

  private report(scored: ScoredBatch, samples: readonly RolloutSample[], step: number, generation: number): RolloutReport {
    const rows: RolloutRow[] = [];
    scored.groups.forEach((g, gi) =>
      g.completions.forEach((c, k) => {
        const rewards: Record<string, number> = {};
        for (const [name, values] of Object.entries(g.perFunction)) rewards[name] = values[k];
        rows.push({
          group: gi,
          prompt: g.promptText,
          completion: c.text,
          tokens: c.tokens.length,
          truncated: c.truncated,
          reward: g.rewards[k],
          rewards,
          advantage: samples[rows.length].advantage,
        });
      }),
    );
    return { step, generation, rows, failures: scored.failures, tokensPerSecond: tokensPerSecond(scored) };
  }
}
