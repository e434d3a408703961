// A conversation as the token ids a model continues: through the model's own chat template when it has one
// (rendered with the generation prompt, encoded without adding special tokens again, as transformers'
// apply_chat_template output is), else as plain text (the messages' contents joined by a blank line,
// encoded with the tokenizer's special tokens) for base models such as stories260K that have no chat format.

import { ChatTemplate, hasChatTemplate, type ChatMessage } from '../../model/chat-template';
import type { ModelTokenizer } from '../../model/tokenizer';

export type PromptStyle = 'chat' | 'plain';

/** 'chat' when the tokenizer config has a chat template, else 'plain'. */
export function defaultPromptStyle(tokenizer: ModelTokenizer): PromptStyle {
  return hasChatTemplate(tokenizer.tokenizerConfig) ? 'chat' : 'plain';
}

/** The plain-text form of a conversation (what a model without a chat template is given). */
export function plainConversation(messages: readonly ChatMessage[]): string {
  return messages.map((m) => m.content).join('\n\n');
}

export class ConversationEncoder {
  private template: ChatTemplate | undefined;

  constructor(
    private readonly tokenizer: ModelTokenizer,
    readonly style: PromptStyle = defaultPromptStyle(tokenizer),
  ) {}

  /** The ids the model continues from; never empty (BOS alone for an empty plain text). */
  encode(messages: readonly ChatMessage[]): number[] {
    if (this.style === 'chat') {
      this.template ??= new ChatTemplate(this.tokenizer.tokenizerConfig);
      const ids = this.tokenizer.encode(this.template.render(messages, { addGenerationPrompt: true }), { addSpecialTokens: false });
      if (ids.length > 0) return ids;
    } else {
      const ids = this.tokenizer.encode(plainConversation(messages));
      if (ids.length > 0) return ids;
    }
    if (this.tokenizer.bosTokenId === undefined) throw new Error('an empty conversation needs a BOS token, and this tokenizer defines none');
    return [this.tokenizer.bosTokenId];
  }
}
