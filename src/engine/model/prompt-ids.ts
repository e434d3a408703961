// The token ids a generation starts from: the prompt text with the tokenizer's special tokens, a chat
// prompt rendered with the model's template, or BOS alone when there is no text.

import { ChatTemplate } from './chat-template';
import type { ModelConfig } from './config';
import { ModelFormatError } from './errors';
import { missingTokenizerError, type ModelTokenizer } from './tokenizer';

export interface PromptOptions {
  /** Render the text as a user message with the model's chat template (needs tokenizer_config.json). */
  chat?: boolean;
  /** A system message before the user's (chat only). */
  system?: string;
}

function bosOnly(tokenizer: ModelTokenizer | undefined, config: ModelConfig): number[] {
  const bos = tokenizer?.bosTokenId ?? config.bosTokenId;
  if (bos === undefined) {
    throw new ModelFormatError('config.json', 'defines no "bos_token_id", so generation cannot start from an empty prompt: give a prompt');
  }
  return [bos];
}

export function promptIds(tokenizer: ModelTokenizer | undefined, config: ModelConfig, text: string | undefined, options: PromptOptions = {}): number[] {
  if (options.chat) {
    if (!tokenizer) throw missingTokenizerError();
    const messages = [...(options.system ? [{ role: 'system', content: options.system }] : []), { role: 'user', content: text ?? '' }];
    const rendered = new ChatTemplate(tokenizer.tokenizerConfig).render(messages, { addGenerationPrompt: true });
    // The rendered text carries its own special tokens (as transformers' apply_chat_template encodes it).
    const ids = tokenizer.encode(rendered, { addSpecialTokens: false });
    return ids.length > 0 ? ids : bosOnly(tokenizer, config);
  }
  if (text === undefined || text === '') return bosOnly(tokenizer, config);
  if (!tokenizer) throw missingTokenizerError();
  const ids = tokenizer.encode(text);
  return ids.length > 0 ? ids : bosOnly(tokenizer, config);
}
