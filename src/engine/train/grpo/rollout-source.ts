// Where a GRPO step's completions and rewards come from: sampled from the policy and scored by the reward
// functions (LiveRolloutSource), or fixed groups from a rollouts file (FileRolloutSource: offline RL and
// the tests that compare K steps with the float64 reference). Both give scored groups; rollout-feed.ts
// turns them into advantages and micro-batches.

import type { CausalLm } from '../../model/causal-lm';
import type { ModelTokenizer } from '../../model/tokenizer';
import type { GrpoConfig } from './grpo-config';
import type { RewardInput, RewardSet } from './rewards/reward-types';
import { rolloutSeed, sampleGroups, type RolloutPrompt } from './rollouts';

/** One completion of a scored group. */
export interface ScoredCompletion {
  tokens: readonly number[];
  text: string;
  truncated: boolean;
}

export interface ScoredGroup {
  prompt: readonly number[];
  promptText: string;
  completions: ScoredCompletion[];
  /** (G) weighted sum of the reward functions (TRL: nansum of weight * reward). */
  rewards: Float64Array;
  /** (G) per reward function, by name. */
  perFunction: Record<string, Float64Array>;
}

/** A reward call that failed (the completion got 0 from that function). */
export interface RewardFailure {
  name: string;
  /** Group and completion within it. */
  group: number;
  completion: number;
  message: string;
}

export interface ScoredBatch {
  groups: ScoredGroup[];
  failures: RewardFailure[];
  /** Mean entropy of the sampled tokens (nats); absent for fixed completions. */
  entropy?: number;
  /** Tokens generated and seconds spent generating (0 for a file). */
  generatedTokens: number;
  generationSeconds: number;
  /** Seconds spent in the reward functions. */
  rewardSeconds: number;
}

export interface RolloutSource {
  /** Training prompts (or groups of a file). */
  readonly size: number;
  /** Held-out prompts (0: no held-out evaluation). */
  readonly heldOutSize: number;
  /** Scored groups of training prompts `indices`, as generation batch `index` of the run. */
  train(indices: readonly number[], index: number, signal?: AbortSignal): Promise<ScoredBatch>;
  /** Scored groups of every held-out prompt; the same seed each time, so evaluations compare like with like. */
  heldOut(signal?: AbortSignal): Promise<ScoredBatch>;
}

/** What scoring completions needs of the reward functions (rewards/reward-set.ts). */
export type Rewarder = Pick<RewardSet, 'names' | 'score'>;

export interface LiveSourceOptions {
  /** The policy as trained so far (the adapter attached). */
  policy(): CausalLm | Promise<CausalLm>;
  tokenizer?: ModelTokenizer;
  train: readonly RolloutPrompt[];
  heldOut: readonly RolloutPrompt[];
  rewards: Rewarder;
  config: GrpoConfig;
  seed: number;
  /** Most completions decoded together (default: all of a generation batch or of the held-out set). */
  maxSequences?: number;
  now?: () => number;
}

/** Index of the held-out generation's seed (far from any training batch's). */
const HELD_OUT_INDEX = 0x7fffffff;

export class LiveRolloutSource implements RolloutSource {
  constructor(private readonly o: LiveSourceOptions) {
    if (o.train.length === 0) throw new RangeError('GRPO needs at least one training prompt');
  }

  get size(): number {
    return this.o.train.length;
  }

  get heldOutSize(): number {
    return this.o.heldOut.length;
  }

  train(indices: readonly number[], index: number, signal?: AbortSignal): Promise<ScoredBatch> {
    return this.run(indices.map((i) => this.o.train[i]), this.o.config.numGenerations, rolloutSeed(this.o.seed, index), signal);
  }

  heldOut(signal?: AbortSignal): Promise<ScoredBatch> {
    return this.run(this.o.heldOut, this.o.config.numGenerationsEval, rolloutSeed(this.o.seed, HELD_OUT_INDEX), signal);
  }

  private async run(prompts: readonly RolloutPrompt[], perPrompt: number, seed: number, signal?: AbortSignal): Promise<ScoredBatch> {
    const now = this.o.now ?? (() => performance.now());
    const lm = await this.o.policy();
    const sampled = await sampleGroups(lm, prompts, { config: this.o.config, perPrompt, seed, maxSequences: this.o.maxSequences, tokenizer: this.o.tokenizer, signal, now });
    const started = now();
    const inputs: RewardInput[] = sampled.groups.flatMap((g) =>
      g.completions.map((c) => ({ prompt: g.prompt.promptText, completion: c.text, example: g.prompt.fields, completionTokens: c.tokens.length, truncated: c.truncated })),
    );
    const scored = await this.o.rewards.score(inputs, signal);
    const rewardSeconds = (now() - started) / 1000;
    const groups = sampled.groups.map((g, i) => {
      const span = (a: Float64Array) => a.slice(i * perPrompt, (i + 1) * perPrompt);
      const perFunction: Record<string, Float64Array> = {};
      for (const name of this.o.rewards.names) perFunction[name] = span(scored.perFunction[name]);
      return { prompt: g.prompt.prompt, promptText: g.prompt.promptText, completions: g.completions, rewards: span(scored.total), perFunction };
    });
    const failures = scored.errors.map((e) => ({ name: e.name, group: Math.floor(e.index / perPrompt), completion: e.index % perPrompt, message: e.message }));
    return {
      groups,
      failures,
      entropy: sampled.tokens ? sampled.entropySum / sampled.tokens : 0,
      generatedTokens: sampled.tokens,
      generationSeconds: sampled.seconds,
      rewardSeconds,
    };
  }
}

/** A group of a rollouts file (data/rollouts-file.ts): ids and rewards used exactly as given. */
export interface FixedGroup {
  prompt: readonly number[];
  completions: readonly (readonly number[])[];
  rewards: readonly number[];
}

/** Token ids to the text the rollout table and rollouts.jsonl show. */
export type DecodeIds = (ids: readonly number[]) => string;

/**
 * Fixed completions and rewards: a completion counts as truncated when it does not end in an EOS id (TRL's
 * rule). With `decode`, the reports show the prompts and completions as text (empty without).
 */
export class FileRolloutSource implements RolloutSource {
  private readonly groups: ScoredGroup[];
  private readonly heldOutGroups: ScoredGroup[];

  constructor(groups: readonly FixedGroup[], eosTokenIds: readonly number[], heldOut: readonly FixedGroup[] = [], decode: DecodeIds = () => '') {
    if (groups.length === 0) throw new RangeError('the rollouts file has no groups');
    this.groups = groups.map((g) => FileRolloutSource.scored(g, eosTokenIds, decode));
    this.heldOutGroups = heldOut.map((g) => FileRolloutSource.scored(g, eosTokenIds, decode));
  }

  private static scored(g: FixedGroup, eos: readonly number[], decode: DecodeIds): ScoredGroup {
    return {
      prompt: g.prompt,
      promptText: decode(g.prompt),
      completions: g.completions.map((tokens) => ({ tokens, text: decode(tokens), truncated: tokens.length === 0 || !eos.includes(tokens[tokens.length - 1]) })),
      rewards: Float64Array.from(g.rewards),
      perFunction: {},
    };
  }

  get size(): number {
    return this.groups.length;
  }

  get heldOutSize(): number {
    return this.heldOutGroups.length;
  }

  async train(indices: readonly number[]): Promise<ScoredBatch> {
    return { groups: indices.map((i) => this.groups[i]), failures: [], generatedTokens: 0, generationSeconds: 0, rewardSeconds: 0 };
  }

  async heldOut(): Promise<ScoredBatch> {
    return { groups: this.heldOutGroups, failures: [], generatedTokens: 0, generationSeconds: 0, rewardSeconds: 0 };
  }
}
