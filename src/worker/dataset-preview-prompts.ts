// GRPO prompts rendered for a model, token by token: each record goes through the engine's own
// tokenizePrompts (text with the tokenizer's special tokens, conversations through the chat template with the
// generation prompt), so the page shows exactly the ids the rollouts continue. No prompt token is trained:
// GRPO trains the completions sampled after it. The record's other fields are listed as the reward functions
// receive them.

import type { PromptDataset, PromptRecord } from '../engine/data/prompt-examples';
import { tokenizePrompts } from '../engine/data/tokenize-prompts';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import { requireChatTemplate, tokenPieces } from './dataset-preview';
import type { PromptPreview } from './protocol-datasets';

/** The longest field value shown: a field can hold a whole reference solution. */
export const PREVIEW_MAX_FIELD_CHARS = 400;

/** A field's value as text: strings as written, anything else as JSON; cut to PREVIEW_MAX_FIELD_CHARS. */
function fieldText(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > PREVIEW_MAX_FIELD_CHARS ? `${text.slice(0, PREVIEW_MAX_FIELD_CHARS)}…` : text;
}

function previewPrompt(record: PromptRecord, format: PromptDataset['format'], tokenizer: ModelTokenizer, maxLength: number): PromptPreview {
  const fields = Object.entries(record.fields).map(([name, value]) => ({ name, value: fieldText(value) }));
  const dataset: PromptDataset = { file: 'preview', format, examples: [record], errors: [], errorCount: 0 };
  let ids: number[];
  try {
    const { examples, errors } = tokenizePrompts(dataset, tokenizer);
    if (examples.length === 0) throw new Error(errors[0]?.message ?? 'could not be tokenized');
    ids = examples[0].prompt;
  } catch (err) {
    return { line: record.line, tokens: [], fields, truncated: false, error: (err as Error).message };
  }
  const shown = ids.slice(0, maxLength);
  const pieces = tokenPieces(tokenizer, shown);
  return { line: record.line, tokens: shown.map((id, t) => ({ id, text: pieces[t], trained: false })), fields, truncated: ids.length > maxLength };
}

/**
 * Renders GRPO `records` as the rollouts see their prompts, each cut to `maxLength` tokens for display.
 * Throws when conversations meet a model without a chat template (it concerns every record).
 */
export function previewPrompts(records: PromptRecord[], format: PromptDataset['format'], tokenizer: ModelTokenizer, maxLength: number): PromptPreview[] {
  requireChatTemplate(tokenizer, records.some((r) => typeof r.prompt !== 'string'), `${format} prompts`);
  return records.map((record) => previewPrompt(record, format, tokenizer, maxLength));
}
