// Generations for evaluation items (task, GSM8K, HumanEval): greedy, or `samplesPerItem` seeded samples per
// item, decoded in batches with the KV cache (generate() runs one submit per step for the whole batch), cut
// at the suite's stop strings, EOS or the token limit. Prompts longer than the context keep their last
// tokens, as lm-evaluation-harness's generate_until does (lm_eval/models/huggingface.py: the context is
// left-truncated to max_length - max_gen_toks).

import { ChatTemplate, type ChatMessage } from '../model/chat-template';
import { generate, type FinishReason } from '../model/generate';
import type { GenerateOptions } from '../model/generation-options';
import type { ProgressTracker } from './eval-progress';
import type { EvalModel, RunContext } from './run-types';
import type { GenerationOptions } from './suite-types';

export type EvalPrompt = string | readonly ChatMessage[];

export interface GeneratedSample {
  text: string;
  /** New tokens, EOS included. */
  tokens: number;
  finishReason: FinishReason;
}

export interface ItemGenerations {
  /** Per item finished, its samples (one when greedy); items past a cancel are missing. */
  samples: GeneratedSample[][];
  /** Prompt tokens dropped from the left to fit the context, per finished item. */
  truncated: number[];
  cancelled: boolean;
}

/** Prompt token ids: plain text with the tokenizer's special tokens, chat turns through the model's template. */
export function encodePrompt(model: EvalModel, prompt: EvalPrompt, template: () => ChatTemplate): number[] {
  if (typeof prompt === 'string') {
    const ids = model.tokenizer.encode(prompt);
    if (ids.length > 0) return ids;
    const bos = model.tokenizer.bosTokenId ?? model.lm.config.bosTokenId;
    if (bos === undefined) throw new Error('an empty prompt needs a BOS token, and this model defines none');
    return [bos];
  }
  const rendered = template().render(prompt.map((m) => ({ role: m.role, content: m.content })), { addGenerationPrompt: true });
  // The rendered text carries its own special tokens (as apply_chat_template's output is encoded).
  return model.tokenizer.encode(rendered, { addSpecialTokens: false });
}

/** The generate() settings of a suite's generation options; `seed` is the first flat sample's seed. */
export function decodeSettings(gen: GenerationOptions, maxNewTokens: number, seed: number): GenerateOptions {
  const s = gen.sampling;
  if (!s) return { maxNewTokens, temperature: 0, doSample: false, stopStrings: gen.stop, seed };
  return { maxNewTokens, temperature: s.temperature, topP: s.topP ?? 1, topK: s.topK ?? 0, doSample: true, stopStrings: gen.stop, seed };
}

/**
 * Generates for every prompt, `batchSize` sequences per generate() call. Sample j of item i is the flat
 * sequence i * n + j and is drawn with seed + i * n + j, so outputs do not depend on the batch size.
 * `itemStops[i]`, when given, adds item i's own stop strings to the suite's (HumanEval's per-problem stop
 * tokens); a batch then holds consecutive items with the same stops.
 */
export async function generateForItems(
  model: EvalModel,
  prompts: readonly EvalPrompt[],
  gen: GenerationOptions,
  ctx: RunContext,
  progress: ProgressTracker,
  itemStops?: readonly (readonly string[])[],
): Promise<ItemGenerations> {
  const { lm } = model;
  const maxPositions = lm.config.maxPositions;
  const maxNewTokens = Math.min(gen.maxNewTokens, maxPositions - 1);
  if (maxNewTokens < 1) throw new RangeError(`the generation limit must be at least 1 token, got ${gen.maxNewTokens}`);
  const perItem = gen.sampling?.samplesPerItem ?? 1;
  if (!Number.isInteger(perItem) || perItem < 1) throw new RangeError(`samplesPerItem must be an integer >= 1, got ${perItem}`);
  const seed = gen.sampling?.seed ?? ctx.seed;
  const batchSize = Math.max(1, ctx.batchSize);

  let template: ChatTemplate | undefined;
  const chat = () => (template ??= new ChatTemplate(model.tokenizer.tokenizerConfig));
  const maxContext = maxPositions - maxNewTokens;
  const encoded = prompts.map((p) => encodePrompt(model, p, chat));
  const truncated = encoded.map((ids) => Math.max(0, ids.length - maxContext));
  const flat = encoded.flatMap((ids) => Array.from({ length: perItem }, () => ids.slice(-maxContext)));

  const stopsOf = (i: number) => [...gen.stop, ...(itemStops?.[i] ?? [])];
  const sameStops = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((s, k) => s === b[k]);

  const done: GeneratedSample[] = [];
  let cancelled = false;
  // Whole items per batch, so a cancel never leaves an item with only some of its samples.
  const itemsPerBatch = Math.max(1, Math.floor(batchSize / perItem));
  for (let item = 0; item < prompts.length; ) {
    if (ctx.signal?.aborted) {
      cancelled = true;
      break;
    }
    const stop = stopsOf(item);
    let last = item + 1;
    while (last < Math.min(prompts.length, item + itemsPerBatch) && sameStops(stopsOf(last), stop)) last++;
    const start = item * perItem;
    const end = last * perItem;
    item = last;
    const results = await generate(lm, flat.slice(start, end), { ...decodeSettings(gen, maxNewTokens, seed + start), stopStrings: stop }, {
      tokenizer: model.tokenizer,
      signal: ctx.signal,
    });
    if (results.some((r) => r.finishReason === 'aborted')) {
      cancelled = true;
      break;
    }
    for (const r of results) done.push({ text: r.text ?? '', tokens: r.tokens.length, finishReason: r.finishReason });
    progress.update(done.length / perItem);
  }
  const items = done.length / perItem;
  const samples = Array.from({ length: items }, (_, i) => done.slice(i * perItem, (i + 1) * perItem));
  return { samples, truncated: truncated.slice(0, items), cancelled };
}
