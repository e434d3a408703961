// GRPO prompts -> the token ids the rollouts continue, as TRL's GRPOTrainer._tokenize_prompts makes them
// (trl/trainer/grpo_trainer.py): text through the tokenizer with its special tokens (BOS where the model
// expects one, as the preference prompt is encoded in tokenize-preference.ts), conversations through the chat
// template with the generation prompt added, encoded without adding special tokens again (the rendered text
// carries its own). No truncation: TRL's GRPOConfig no longer has max_prompt_length; the rollout checks
// prompt + completion against the model's context.

import { ChatTemplate, ChatTemplateLimitError } from '../model/chat-template';
import type { ModelTokenizer } from '../model/tokenizer';
import type { PromptDataset } from './prompt-examples';
import type { RecordError } from './read-records';

export interface PromptExample {
  line: number;
  /** (P) ids the completions are sampled after. */
  prompt: number[];
  /** What the model is conditioned on, as text: the prompt as written, or the rendered chat (special tokens as text). */
  promptText: string;
  /** The record's other fields, for the reward functions. */
  fields: Record<string, unknown>;
}

export interface TokenizedPrompts {
  examples: PromptExample[];
  errors: RecordError[];
}

/** A template for the dataset's conversations: `chatTemplate` (Jinja text) when given, else the model's own. */
function conversationTemplate(dataset: PromptDataset, tokenizer: ModelTokenizer, chatTemplate: string | undefined): ChatTemplate | undefined {
  if (!dataset.examples.some((e) => typeof e.prompt !== 'string')) return undefined;
  const config = chatTemplate === undefined ? tokenizer.tokenizerConfig : { ...tokenizer.tokenizerConfig, chat_template: chatTemplate };
  try {
    return new ChatTemplate(config);
  } catch (err) {
    // Every conversation needs it: refuse the dataset as a whole, naming it.
    throw new Error(`${dataset.file}: its prompts are conversations, which need a chat template: ${(err as Error).message}`);
  }
}

/**
 * Every prompt of a GRPO dataset as token ids. `chatTemplate` replaces the model's template for conversation
 * prompts (the template's special-token variables still come from tokenizer_config.json).
 */
export function tokenizePrompts(dataset: PromptDataset, tokenizer: ModelTokenizer, chatTemplate?: string): TokenizedPrompts {
  const template = conversationTemplate(dataset, tokenizer, chatTemplate);
  const out: TokenizedPrompts = { examples: [], errors: [] };
  for (const { line, prompt, fields } of dataset.examples) {
    let promptText: string;
    let ids: number[];
    try {
      if (typeof prompt === 'string') {
        promptText = prompt;
        ids = tokenizer.encode(prompt);
      } else {
        promptText = template!.render(prompt, { addGenerationPrompt: true });
        ids = tokenizer.encode(promptText, { addSpecialTokens: false });
      }
    } catch (err) {
      // A template that ran out of time is not run again (chat-template.ts): the dataset stops with its error.
      if (err instanceof ChatTemplateLimitError && err.limit === 'time') throw err;
      // A template's raise_exception (roles that must alternate, say) concerns this record only.
      out.errors.push({ line, message: (err as Error).message });
      continue;
    }
    if (ids.length === 0) {
      out.errors.push({ line, message: 'has an empty prompt: this tokenizer adds no BOS, so there is no token to sample after' });
      continue;
    }
    out.examples.push({ line, prompt: ids, promptText, fields });
  }
  return out;
}
