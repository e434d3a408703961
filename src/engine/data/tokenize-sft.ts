// SFT examples -> token ids and a per-token train mask (1 = the token is a training target), then truncated
// to the maximum length. Prompts and completions are encoded as a whole and the boundary found by encoding
// the prefix alone, so merges across the boundary never shift the mask; chats go through the model's
// chat template, and an assistant turn's span runs from after its header (the generation prompt) to the end
// of its rendered turn, so the end-of-turn token is trained and the model learns to stop (chat-spans.ts finds
// these spans in time linear in the conversation's length).

import { ChatTemplate, ChatTemplateLimitError } from '../model/chat-template';
import { chatSpans } from './chat-spans';
import type { ModelTokenizer } from '../model/tokenizer';
import type { ChatMessage } from './messages';
import type { RecordError } from './read-records';
import type { SftDataset, SftExample } from './sft-examples';
import { checkSftTokenIds } from './token-ids';

export interface TokenizedExample {
  line: number;
  inputIds: number[];
  /** (T) 1 where the token is trained. */
  trainMask: number[];
}

export interface TokenizeOptions {
  /** Examples longer than this are cut to their first maxLength tokens. */
  maxLength: number;
  /** Loss on the completion only for prompt-completion data (TRL's default true); false trains the prompt too. */
  completionOnly?: boolean;
}

export interface TokenizedDataset {
  examples: TokenizedExample[];
  errors: RecordError[];
  /** Examples cut to maxLength. */
  truncated: number;
  /** Examples whose prompt tokens were not a prefix of the whole (the boundary is then the common prefix). */
  boundaryMismatches: number;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

class SftTokenizer {
  mismatches = 0;
  private template: ChatTemplate | undefined;

  constructor(
    private readonly tokenizer: ModelTokenizer,
    private readonly completionOnly: boolean,
  ) {}

  private chat(): ChatTemplate {
    this.template ??= new ChatTemplate(this.tokenizer.tokenizerConfig);
    return this.template;
  }

  /** EOS appended when the text does not already end with it, trained (the model learns to stop). */
  private withEos(ids: number[], mask: number[]): void {
    const eos = this.tokenizer.eosTokenIds[0];
    if (eos !== undefined && ids.at(-1) !== eos) {
      ids.push(eos);
      mask.push(1);
    }
  }

  /** Token count of `prefixIds` inside `fullIds`, counting a mismatch when it is not a true prefix. */
  private boundary(prefixIds: number[], fullIds: number[]): number {
    const n = commonPrefix(prefixIds, fullIds);
    if (n !== prefixIds.length) this.mismatches++;
    return n;
  }

  /** Trains exactly the turns marked train: each from after its header to the end of its rendered turn. */
  private chatMask(messages: readonly ChatMessage[]): { ids: number[]; mask: number[] } {
    const { ids, spans, mismatches } = chatSpans(this.chat(), this.tokenizer, messages);
    this.mismatches += mismatches;
    const mask = new Array<number>(ids.length).fill(0);
    for (const { start, end } of spans) mask.fill(1, start, Math.max(start, end));
    return { ids, mask };
  }

  tokenize(e: SftExample): { ids: number[]; mask: number[] } {
    switch (e.kind) {
      case 'tokens':
        return { ids: [...e.inputIds], mask: e.completionMask ? [...e.completionMask] : e.inputIds.map(() => 1) };
      case 'text': {
        const ids = this.tokenizer.encode(e.text);
        const mask = ids.map(() => 1);
        this.withEos(ids, mask);
        return { ids, mask };
      }
      case 'prompt-completion': {
        const ids = this.tokenizer.encode(e.prompt + e.completion);
        const start = this.completionOnly ? this.boundary(this.tokenizer.encode(e.prompt), ids) : 0;
        const mask = ids.map((_, t) => (t >= start ? 1 : 0));
        this.withEos(ids, mask);
        return { ids, mask };
      }
      case 'chat':
        return this.chatMask(e.messages);
      case 'chat-prompt-completion': {
        if (!this.completionOnly) return this.chatMask([...e.prompt, ...e.completion].map((m) => ({ ...m, train: true })));
        return this.chatMask([...e.prompt.map((m) => ({ ...m, train: false })), ...e.completion.map((m) => ({ ...m, train: m.role === 'assistant' || m.train }))]);
      }
    }
  }
}

/**
 * Every example as ids and a train mask. Pre-tokenized examples must fit the model's vocabulary: the first id
 * beyond it refuses the dataset (TokenIdRangeError) before anything is tokenized.
 */
export function tokenizeSftDataset(dataset: SftDataset, tokenizer: ModelTokenizer, options: TokenizeOptions): TokenizedDataset {
  if (!Number.isInteger(options.maxLength) || options.maxLength < 2) throw new RangeError(`maximum length must be an integer >= 2, got ${options.maxLength}`);
  checkSftTokenIds(dataset, tokenizer.vocabSize);
  const t = new SftTokenizer(tokenizer, options.completionOnly ?? true);
  const examples: TokenizedExample[] = [];
  const errors: RecordError[] = [];
  let truncated = 0;
  for (const { line, example } of dataset.examples) {
    let ids: number[];
    let mask: number[];
    try {
      ({ ids, mask } = t.tokenize(example));
    } catch (err) {
      // A missing chat template concerns every record: report it once, as a whole-dataset error; so does a
      // template that ran out of time (it is not run again).
      if (examples.length === 0 && errors.length === 0 && example.kind.startsWith('chat')) throw err;
      if (err instanceof ChatTemplateLimitError && err.limit === 'time') throw err;
      errors.push({ line, message: (err as Error).message });
      continue;
    }
    if (ids.length > options.maxLength) {
      ids = ids.slice(0, options.maxLength);
      mask = mask.slice(0, options.maxLength);
      truncated++;
    }
    // Position 0 is never a target (nothing predicts it), so at least one later token must be trained.
    if (!mask.some((m, i) => m === 1 && i > 0)) {
      errors.push({ line, message: `has no trained token within the first ${options.maxLength} tokens` });
      continue;
    }
    examples.push({ line, inputIds: ids, trainMask: mask });
  }
  return { examples, errors, truncated, boundaryMismatches: t.mismatches };
}
