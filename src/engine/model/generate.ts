// Autoregressive generation for several prompts at once over any CausalLm (CPU reference or GPU engine).
// Each prompt is its own sequence with its own KV cache: one `extend` prefills them all, then every decode
// step feeds the last token of each still-running sequence in one `extend`. Finished sequences drop out.

import { Rng } from '../util/rng';
import type { CausalLm, SequenceState } from './causal-lm';
import { ModelFormatError } from './errors';
import type { GenerateOptions, SamplingOptions } from './generation-options';
import { checkSamplingOptions, NonFiniteLogitsError, sampleToken } from './sampling';
import { StopStringStream } from './stop-strings';
import { StreamDecoder } from './stream-decoder';
import type { ModelTokenizer } from './tokenizer';

export { promptIds, type PromptOptions } from './prompt-ids';

export type FinishReason = 'eos' | 'stop-string' | 'length' | 'aborted';

export interface GenerationResult {
  /** The new tokens, the EOS that ended them included. */
  tokens: number[];
  /** The text that follows the prompt (with a tokenizer): special tokens left out, cut before a stop string.
   *  Always the concatenation of the deltas given to onToken. */
  text?: string;
  finishReason: FinishReason;
}

export interface GenerationHooks {
  /** Needed for text, streaming deltas and stop strings; generation from ids works without it. */
  tokenizer?: ModelTokenizer;
  /** Called for every new token of prompt `index`, with the text that became final with it. */
  onToken?(index: number, tokenId: number, textDelta: string): void;
  /** Stops every sequence after the step in flight; results so far come back with finishReason 'aborted'. */
  signal?: AbortSignal;
  /** When sampling: the entropy (nats) of the distribution prompt `index`'s new token was drawn from (sampling.ts SampleStats). */
  onEntropy?(index: number, entropy: number): void;
}

/** One prompt's state during generation. */
class Run {
  readonly tokens: number[] = [];
  /** Prompt and output: what the repetition penalty looks at. */
  readonly history: number[];
  readonly rng: Rng;
  finish: FinishReason | undefined;
  private readonly decoder: StreamDecoder | undefined;
  private readonly stops: StopStringStream | undefined;

  constructor(
    readonly sequence: SequenceState,
    /** Positions the sequence's cache can hold. */
    readonly capacity: number,
    private readonly prompt: readonly number[],
    seed: number,
    tokenizer: ModelTokenizer | undefined,
    stopStrings: readonly string[],
  ) {
    this.history = [...prompt];
    this.rng = new Rng(seed);
    this.decoder = tokenizer ? new StreamDecoder(tokenizer, { context: prompt }) : undefined;
    this.stops = tokenizer ? new StopStringStream(stopStrings) : undefined;
  }

  /** Position (0-based, prompt included) that the next new token takes. */
  get nextPosition(): number {
    return this.prompt.length + this.tokens.length;
  }

  /** True when the newest token cannot be fed back: the cache is full. */
  get cacheFull(): boolean {
    return this.prompt.length + this.tokens.length - 1 >= this.capacity;
  }

  get text(): string | undefined {
    return this.stops?.emitted;
  }

  /** Records a token; returns its text delta and whether a stop string ended the sequence. */
  add(token: number): { delta: string; stopped: boolean } {
    this.tokens.push(token);
    this.history.push(token);
    if (!this.decoder || !this.stops) return { delta: '', stopped: false };
    return this.stops.push(this.decoder.push(token));
  }

  /** The text held back for a possible multi-byte character or stop string, at the end of the sequence. */
  flush(): { delta: string; stopped: boolean } {
    if (!this.decoder || !this.stops) return { delta: '', stopped: false };
    const last = this.stops.push(this.decoder.flush());
    return last.stopped ? last : { delta: last.delta + this.stops.flush(), stopped: false };
  }
}

function checkPrompts(model: CausalLm, prompts: readonly (readonly number[])[]): void {
  const { vocabSize, maxPositions } = model.config;
  prompts.forEach((prompt, i) => {
    if (prompt.length === 0) throw new RangeError(`prompt ${i} has no tokens: start from [BOS] (promptIds does this)`);
    if (prompt.length > maxPositions) {
      throw new RangeError(
        `prompt ${i} has ${prompt.length} tokens but the model's context holds ${maxPositions} (max_position_embeddings in config.json)`,
      );
    }
    for (const id of prompt) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new RangeError(`prompt ${i} has token id ${id}, outside the vocabulary (0..${vocabSize - 1})`);
    }
  });
}

export async function generate(
  model: CausalLm,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
  hooks: GenerationHooks = {},
): Promise<GenerationResult[]> {
  const { maxNewTokens } = options;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new RangeError(`maxNewTokens must be an integer >= 0, got ${maxNewTokens}`);
  checkPrompts(model, prompts);
  const stopStrings = options.stopStrings ?? [];
  if (stopStrings.length > 0 && !hooks.tokenizer) {
    throw new ModelFormatError('tokenizer.json', 'is needed for stop strings, and this model has none');
  }
  // Without an explicit choice, a temperature above 0 samples and none (or 0) is greedy.
  const sampling: SamplingOptions = checkSamplingOptions({
    temperature: options.temperature ?? 0,
    topK: options.topK,
    topP: options.topP,
    repetitionPenalty: options.repetitionPenalty,
    doSample: options.doSample ?? (options.temperature ?? 0) > 0,
  });
  const stopIds = new Set(options.stopTokenIds ?? hooks.tokenizer?.eosTokenIds ?? model.config.eosTokenIds);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  const { signal, onToken, tokenizer } = hooks;

  const runs: Run[] = [];
  let failed = false;
  try {
    for (const [i, prompt] of prompts.entries()) {
      // The last new token is never fed back, so the cache needs prompt + maxNewTokens - 1 positions.
      const capacity = Math.max(prompt.length, Math.min(prompt.length + maxNewTokens - 1, model.config.maxPositions));
      const sequence = model.createSequence(capacity);
      runs.push(new Run(sequence, capacity, prompt, (seed + i) >>> 0, tokenizer, stopStrings));
    }
    if (maxNewTokens === 0) {
      for (const run of runs) run.finish = 'length';
    } else {
      await decodeLoop(model, prompts, runs, { sampling, stopIds, maxNewTokens, signal, onToken, onEntropy: hooks.onEntropy });
    }
    return runs.map((run) => ({ tokens: run.tokens, text: run.text, finishReason: run.finish ?? 'aborted' }));
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    releaseAll(model, runs, !failed);
  }
}

/** Frees every sequence even if one release fails; that failure surfaces only when nothing else did. */
function releaseAll(model: CausalLm, runs: readonly Run[], throwFailure: boolean): void {
  let failure: unknown;
  for (const run of runs) {
    try {
      model.releaseSequence(run.sequence);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined && throwFailure) throw failure;
}

interface LoopSettings {
  sampling: SamplingOptions;
  stopIds: Set<number>;
  maxNewTokens: number;
  signal: AbortSignal | undefined;
  onToken: GenerationHooks['onToken'];
  onEntropy: GenerationHooks['onEntropy'];
}

async function decodeLoop(model: CausalLm, prompts: readonly (readonly number[])[], runs: Run[], s: LoopSettings): Promise<void> {
  let active = runs.map((_, i) => i);
  if (s.signal?.aborted) return abort(runs, active);
  // (V) logits of each active sequence's last position.
  let logits = await model.extend(
    runs.map((run, i) => ({ sequence: run.sequence, tokens: prompts[i] })),
    'last',
  );
  for (;;) {
    if (s.signal?.aborted) return abort(runs, active);
    for (const [j, i] of active.entries()) step(runs[i], i, logits[j], s);
    active = active.filter((i) => runs[i].finish === undefined);
    if (active.length === 0) return;
    if (s.signal?.aborted) return abort(runs, active);
    logits = await model.extend(
      active.map((i) => ({ sequence: runs[i].sequence, tokens: [runs[i].tokens.at(-1)!] })),
      'last',
    );
  }
}

/** Samples one token for run `index` and decides whether its sequence ends here. */
function step(run: Run, index: number, logits: Float32Array, s: LoopSettings): void {
  const stats = s.onEntropy ? { entropy: NaN } : undefined;
  let token: number;
  try {
    token = sampleToken(logits, s.sampling, run.rng, run.history, stats);
  } catch (err) {
    if (err instanceof NonFiniteLogitsError) throw err.at(`prompt ${index}, new token ${run.tokens.length + 1} (position ${run.nextPosition})`);
    throw err;
  }
  if (stats && !Number.isNaN(stats.entropy)) s.onEntropy!(index, stats.entropy);
  const added = run.add(token);
  let delta = added.delta;
  if (added.stopped) run.finish = 'stop-string';
  else if (s.stopIds.has(token)) run.finish = 'eos';
  else if (run.tokens.length >= s.maxNewTokens || run.cacheFull) run.finish = 'length';
  if (run.finish !== undefined && !added.stopped) {
    const last = run.flush();
    delta += last.delta;
    if (last.stopped) run.finish = 'stop-string';
  }
  s.onToken?.(index, token, delta);
}

function abort(runs: Run[], active: number[]): void {
  for (const i of active) runs[i].finish = 'aborted';
}
