// Rollouts: G completions per prompt sampled from the policy as trained so far, every prompt of a generation
// batch decoded together (generate() runs one extend per step for all B*G sequences, each with its own KV
// cache), then scored by the reward functions. The seed of a generation batch derives from the run's seed
// and the batch's index, so the same index gives the same completions on the same adapter, also after a
// resume. The entropy is that of the distribution each token was sampled from, logits / temperature over
// the whole vocabulary, as TRL logs it (its entropy comes from the training forward, which at
// num_iterations 1 is this same policy).

import type { CausalLm } from '../../model/causal-lm';
import { generate, type FinishReason } from '../../model/generate';
import type { ModelTokenizer } from '../../model/tokenizer';
import type { GrpoConfig } from './grpo-config';

/** A prompt to sample from, and the record its rewards read. */
export interface RolloutPrompt {
  prompt: readonly number[];
  /** The prompt as text (rewards receive it). */
  promptText: string;
  /** The dataset record's other fields (GSM8K's answer, a character's name, ...). */
  fields: Record<string, unknown>;
}

export interface SampledCompletion {
  /** New tokens, the EOS that ended them included. */
  tokens: number[];
  /** Text after the prompt, special tokens left out, cut before a stop string. */
  text: string;
  /** Ended by the length limit (max_completion_length or the model's context). */
  truncated: boolean;
  finish: FinishReason;
}

export interface SampledGroup {
  prompt: RolloutPrompt;
  completions: SampledCompletion[];
}

export interface SampledBatch {
  groups: SampledGroup[];
  /** Summed entropy (nats) over every sampled token, and the tokens. */
  entropySum: number;
  tokens: number;
  seconds: number;
}

/** A 32-bit seed for generation batch `index` of a run (splitmix-style mixing, so nearby indices differ everywhere). */
export function rolloutSeed(runSeed: number, index: number): number {
  let x = (Math.imul(runSeed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

export interface SampleOptions {
  config: Pick<GrpoConfig, 'maxCompletionLength' | 'temperature' | 'topP' | 'topK' | 'stopStrings'>;
  /** Completions per prompt. */
  perPrompt: number;
  seed: number;
  /** Most sequences decoded at once (whole prompts' groups; default all): bounds the KV caches held together. */
  maxSequences?: number;
  tokenizer?: ModelTokenizer;
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Samples `perPrompt` completions of every prompt, decoding up to maxSequences together; completion k of
 * prompt i is sequence i * perPrompt + k, seeded seed + that index (generate()'s rule), so the completions do
 * not depend on how the prompts are chunked.
 */
export async function sampleGroups(lm: CausalLm, prompts: readonly RolloutPrompt[], o: SampleOptions): Promise<SampledBatch> {
  const now = o.now ?? (() => performance.now());
  const started = now();
  const { config } = o;
  const promptsPerCall = Math.max(1, Math.floor((o.maxSequences ?? Infinity) / o.perPrompt));
  let entropySum = 0;
  let tokens = 0;
  const groups: SampledGroup[] = [];
  for (let first = 0; first < prompts.length; first += promptsPerCall) {
    const chunk = prompts.slice(first, first + promptsPerCall);
    const flat = chunk.flatMap((p) => Array.from({ length: o.perPrompt }, () => p.prompt));
    const results = await generate(
      lm,
      flat,
      {
        maxNewTokens: config.maxCompletionLength,
        temperature: config.temperature,
        topP: config.topP,
        topK: config.topK,
        doSample: true,
        stopStrings: config.stopStrings,
        seed: (o.seed + first * o.perPrompt) >>> 0,
      },
      {
        tokenizer: o.tokenizer,
        signal: o.signal,
        onEntropy: (_i, entropy) => {
          entropySum += entropy;
          tokens++;
        },
      },
    );
    if (results.some((r) => r.finishReason === 'aborted')) throw new DOMException('the rollouts were stopped', 'AbortError');
    chunk.forEach((prompt, i) =>
      groups.push({
        prompt,
        completions: results.slice(i * o.perPrompt, (i + 1) * o.perPrompt).map((r) => ({
          tokens: r.tokens,
          text: r.text ?? '',
          truncated: r.finishReason === 'length',
          finish: r.finishReason,
        })),
      }),
    );
  }
  return { groups, entropySum, tokens, seconds: (now() - started) / 1000 };
}
