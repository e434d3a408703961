// A judge run by our own engine: any CausalLm (GPU engine or CPU reference) with its tokenizer, prompted
// through its chat template (conversation.ts) and decoding with generate(), greedy unless asked otherwise
// (FastChat's judges run at temperature 0). Calls that arrive together (both orders of a pair, or several
// questions in flight) are decoded as one batch, `batchSize` sequences per generate() call.
//
// Public API: new EngineJudge(lm, tokenizer, sources, options); judge.promptIds(messages); judge.complete(...).

import type { CausalLm } from '../../model/causal-lm';
import type { ChatMessage } from '../../model/chat-template';
import { generate } from '../../model/generate';
import { resolveGenerateOptions, type GenerateOptions, type GenerateOverrides, type GenerationSources } from '../../model/generation-options';
import type { ModelTokenizer } from '../../model/tokenizer';
import { ConversationEncoder, type PromptStyle } from './conversation';
import type { JudgeModel } from './judge-model';

export interface EngineJudgeOptions {
  /** Shown in results (the model id or folder). */
  name: string;
  /** Longest judgment, in new tokens (FastChat asks its API judges for at most 2048). */
  maxNewTokens: number;
  /** Sampling settings over the model's generation_config.json; default greedy (temperature 0). */
  generation?: Omit<GenerateOverrides, 'maxNewTokens'>;
  /** Default: 'chat' when the model has a chat template, else 'plain'. */
  style?: PromptStyle;
  /** Judgments decoded together at most (default 8). */
  batchSize?: number;
}

/** A judge prompt that does not fit the judge's context. */
export class JudgePromptTooLongError extends Error {
  override readonly name = 'JudgePromptTooLongError';
}

interface Pending {
  ids: number[];
  signal: AbortSignal | undefined;
  resolve(text: string): void;
  reject(err: unknown): void;
}

export class EngineJudge implements JudgeModel {
  readonly name: string;
  private readonly encoder: ConversationEncoder;
  private readonly options: GenerateOptions;
  private readonly batchSize: number;
  private readonly queue: Pending[] = [];
  private draining = false;

  constructor(
    private readonly lm: CausalLm,
    private readonly tokenizer: ModelTokenizer,
    sources: GenerationSources,
    options: EngineJudgeOptions,
  ) {
    if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) throw new RangeError(`the judge's maxNewTokens must be an integer >= 1, got ${options.maxNewTokens}`);
    this.name = options.name;
    this.encoder = new ConversationEncoder(tokenizer, options.style);
    this.options = resolveGenerateOptions(sources, { temperature: 0, ...options.generation, maxNewTokens: options.maxNewTokens }, (t) => tokenizer.tokenId(t));
    this.batchSize = Math.max(1, options.batchSize ?? 8);
  }

  get style(): PromptStyle {
    return this.encoder.style;
  }

  /** The token ids the judge continues from for these messages. */
  promptIds(messages: readonly ChatMessage[]): number[] {
    const ids = this.encoder.encode(messages);
    const context = this.lm.config.maxPositions;
    if (ids.length >= context) {
      throw new JudgePromptTooLongError(`the judge prompt has ${ids.length} tokens and the judge's context holds ${context}: shorten the answers (fewer new tokens) or use a judge with a longer context`);
    }
    return ids;
  }

  complete(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      this.queue.push({ ids: this.promptIds(messages), signal, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        // After the current task, so that calls made together are decoded together.
        queueMicrotask(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.batchSize);
        // One signal stops the batch only when every call in it shares that signal.
        const signal = batch.every((p) => p.signal === batch[0].signal) ? batch[0].signal : undefined;
        try {
          const results = await generate(this.lm, batch.map((p) => p.ids), this.options, { tokenizer: this.tokenizer, signal });
          results.forEach((r, i) => (r.finishReason === 'aborted' ? batch[i].reject(batch[i].signal?.reason ?? new Error('judging was cancelled')) : batch[i].resolve(r.text ?? '')));
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
