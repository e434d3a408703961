// Prompt records for GRPO, read as TRL's GRPOTrainer reads a dataset: a prompt column (text, or a list of
// messages rendered later through the chat template) and every other column handed to the reward functions
// (trl/trainer/grpo_trainer.py, _calculate_rewards: the remaining keys become reward kwargs). Prompt-only
// records and prompt-completion records (the completion becomes a field) have "prompt"; GSM8K's
// {question, answer} has its question as the prompt and its answer as a field. A record with a bad prompt
// is reported with its line and the field, and the rest of the dataset is kept.

import type { DetectedRecords } from './detect';
import type { DatasetFormat } from './formats';
import { normalizeMessages, type ChatMessage } from './messages';
import { ErrorTally, type LineErrors } from './line-errors';

export interface PromptRecord {
  line: number;
  /** Text (encoded with the tokenizer's special tokens) or a conversation (rendered through the chat template). */
  prompt: string | ChatMessage[];
  /** The record's other fields as written (GSM8K's answer, a character's name), for the reward functions. */
  fields: Record<string, unknown>;
}

export interface PromptDataset extends LineErrors {
  file: string;
  format: DatasetFormat;
  examples: PromptRecord[];
}

/** The field each GRPO format (METHOD_FORMATS.grpo) reads its prompt from. */
const PROMPT_FIELD: Partial<Record<DatasetFormat, string>> = {
  'prompt-only': 'prompt',
  'prompt-completion': 'prompt',
  'question-answer': 'question',
};

/** The field a GRPO dataset of this format takes its prompts from. */
export function promptField(format: DatasetFormat): string {
  const field = PROMPT_FIELD[format];
  if (!field) throw new Error(`format ${format} has no prompt column for GRPO`);
  return field;
}

function readPrompt(r: Record<string, unknown>, key: string): string | ChatMessage[] {
  const v = r[key];
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) throw new Error(`field "${key}" must be a string or a list of messages`);
  const messages = normalizeMessages(v, key);
  // The template adds the assistant's header after the prompt: a prompt that already ends with the
  // assistant's turn would have the model answer itself.
  const last = messages.at(-1)!;
  if (last.role === 'assistant') {
    throw new Error(`field "${key}" ends with an assistant message (${key}[${messages.length - 1}]): the model writes the assistant's reply, so the prompt must end before it`);
  }
  return messages;
}

/**
 * How deeply a reward field may nest lists and objects. The fields are kept as written and stored, cloned to
 * the page and to IndexedDB whole: a value thousands of levels deep overflows the structured clone's stack.
 */
export const MAX_FIELD_NESTING = 64;

/** True when `value` nests lists and objects more than `limit` levels deep (never recurses past limit + 1). */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit === 0) return true;
  return (Array.isArray(value) ? value : Object.values(value)).some((v) => nestedDeeperThan(v, limit - 1));
}

function rewardFields(r: Record<string, unknown>, promptKey: string): Record<string, unknown> {
  const fields = Object.fromEntries(Object.entries(r).filter(([k]) => k !== promptKey));
  for (const [key, value] of Object.entries(fields)) {
    if (nestedDeeperThan(value, MAX_FIELD_NESTING)) {
      throw new Error(`field "${key}" nests lists and objects more than ${MAX_FIELD_NESTING} levels deep; a field handed to the reward functions may nest at most ${MAX_FIELD_NESTING}`);
    }
  }
  return fields;
}

/** Normalises every record of a GRPO-compatible dataset (see detectFormat with 'grpo'). */
export function toPromptDataset(detected: DetectedRecords): PromptDataset {
  const field = promptField(detected.format);
  const errors = new ErrorTally(detected);
  const examples: PromptRecord[] = [];
  for (const { line, value } of detected.records) {
    const r = value as Record<string, unknown>;
    try {
      const prompt = readPrompt(r, field);
      examples.push({ line, prompt, fields: rewardFields(r, field) });
    } catch (err) {
      errors.add({ line, message: (err as Error).message });
    }
  }
  return { file: detected.file, format: detected.format, examples, ...errors.result() };
}
