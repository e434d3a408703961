// Incremental detokenisation for streaming. Decoding tokens one by one is wrong twice over: a byte-fallback
// or byte-level token can be half of a UTF-8 character, and sentencepiece drops the leading space of the
// first token it decodes. So every step decodes the whole generated list (after a few context tokens of
// the prompt) and emits only the part that can no longer change.

import type { ModelTokenizer } from './tokenizer';

/** The decoder's replacement for bytes that do not (yet) form a whole UTF-8 character. */
const REPLACEMENT = 0xfffd;

/** Spaces that transformers' clean_up_tokenization removes (" ." -> "."), so a trailing " " may vanish. */
const CLEANUP_PATTERNS = [' .', ' ?', ' !', ' ,', " ' ", " n't", " 'm", " 's", " 've", " 're"];
const LONGEST_PATTERN = Math.max(...CLEANUP_PATTERNS.map((p) => p.length));

/** How many prompt tokens to decode in front of the output, so its first token keeps its leading space. */
const CONTEXT_TOKENS = 4;

export interface StreamDecoderOptions {
  /** Leave special tokens (BOS, EOS, <|im_end|>) out of the text (default true). */
  skipSpecialTokens?: boolean;
  /** The prompt's ids (only the last few are used): the output's text is what follows them. */
  context?: readonly number[];
}

/** The end of the part of `text` that later tokens cannot change. */
function stableEnd(text: string, cleansUpSpaces: boolean): number {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === REPLACEMENT) end--;
  if (cleansUpSpaces) {
    for (let i = Math.max(0, end - LONGEST_PATTERN); i < end; i++) {
      const tail = text.slice(i, end);
      if (text[i] === ' ' && CLEANUP_PATTERNS.some((p) => p.startsWith(tail))) return i;
    }
  }
  return end;
}

export class StreamDecoder {
  private readonly ids: number[] = [];
  private readonly context: number[];
  private readonly contextText: string;
  private readonly skipSpecialTokens: boolean;
  private emitted = '';

  constructor(
    private readonly tokenizer: ModelTokenizer,
    options: StreamDecoderOptions = {},
  ) {
    this.skipSpecialTokens = options.skipSpecialTokens ?? true;
    // Context that ends inside a UTF-8 character would change its own text once the output completes it.
    let context = (options.context ?? []).slice(-CONTEXT_TOKENS);
    while (context.length > 0 && this.decode(context).endsWith('\ufffd')) context = context.slice(0, -1);
    this.context = context;
    this.contextText = this.decode(context);
  }

  /** Adds one token; returns the text that became final with it (often '', never half a character). */
  push(tokenId: number): string {
    this.ids.push(tokenId);
    const text = this.currentText();
    return this.emitUpTo(text, stableEnd(text, this.tokenizer.cleansUpSpaces));
  }

  /** Ends the stream: returns whatever was held back (a trailing U+FFFD stays one when nothing completes it). */
  flush(): string {
    const text = this.currentText();
    return this.emitUpTo(text, text.length);
  }

  /** All text emitted so far. */
  get text(): string {
    return this.emitted;
  }

  /** The ids pushed so far. */
  get tokenIds(): readonly number[] {
    return this.ids;
  }

  private emitUpTo(text: string, end: number): string {
    const stable = text.slice(0, end);
    // Emitted text is never taken back; if a decoder ever rewrote it, wait until the text agrees again.
    if (stable.length <= this.emitted.length || !stable.startsWith(this.emitted)) return '';
    const delta = stable.slice(this.emitted.length);
    this.emitted = stable;
    return delta;
  }

  /** The output's text: decoded after the context, with the context's own text cut off. */
  private currentText(): string {
    if (this.context.length === 0) return this.decode(this.ids);
    const full = this.decode([...this.context, ...this.ids]);
    return full.startsWith(this.contextText) ? full.slice(this.contextText.length) : this.decode(this.ids);
  }

  private decode(ids: readonly number[]): string {
    return this.tokenizer.decode(ids, { skipSpecialTokens: this.skipSpecialTokens });
  }
}
