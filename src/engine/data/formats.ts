// What kind of dataset a record belongs to, from its fields (domain.md; TRL's dataset types plus the
// Alpaca, ShareGPT, LLaMA-Factory and GSM8K shapes people import), which training methods each kind can
// feed, and which fields each kind needs (so a refusal can name the missing ones).

export type DatasetFormat =
  | 'language-modeling' // {text} or {messages}
  | 'prompt-completion' // {prompt, completion}
  | 'pre-tokenized' // {input_ids, completion_mask?}
  | 'alpaca' // {instruction, input?, output}
  | 'sharegpt' // {conversations: [{from, value}]}
  | 'preference' // TRL: {prompt?, chosen, rejected}, strings or message lists
  | 'pre-tokenized-preference' // TRL: {prompt_input_ids, chosen_input_ids, rejected_input_ids} (or *_ids)
  | 'alpaca-preference' // LLaMA-Factory: {instruction, input?, chosen, rejected, system?}
  | 'sharegpt-preference' // LLaMA-Factory: {conversations, chosen: {from, value}, rejected: {from, value}}
  | 'llamafactory-v1-preference' // LLaMA-Factory v1: {chosen_messages, rejected_messages}
  | 'unpaired-preference' // {prompt, completion, label}
  | 'prompt-only' // {prompt}
  | 'question-answer'; // GSM8K: {question, answer}

/** 'dpo' stands for the whole preference family: DPO, SimPO and ORPO read the same datasets. */
export type TrainingMethod = 'sft' | 'dpo' | 'grpo' | 'kto';

export const FORMAT_DESCRIPTIONS: Record<DatasetFormat, string> = {
  'language-modeling': 'language modeling ({"text"} or {"messages"})',
  'prompt-completion': 'prompt-completion ({"prompt", "completion"})',
  'pre-tokenized': 'pre-tokenized ({"input_ids", "completion_mask"?})',
  alpaca: 'Alpaca ({"instruction", "input", "output"})',
  sharegpt: 'ShareGPT ({"conversations": [{"from", "value"}]})',
  preference: 'preference ({"prompt"?, "chosen", "rejected"}, as text or message lists)',
  'pre-tokenized-preference': 'pre-tokenized preference ({"prompt_input_ids", "chosen_input_ids", "rejected_input_ids"})',
  'alpaca-preference': 'Alpaca preference ({"instruction", "input"?, "chosen", "rejected"})',
  'sharegpt-preference': 'ShareGPT preference ({"conversations", "chosen": {"from", "value"}, "rejected": {"from", "value"}})',
  'llamafactory-v1-preference': 'LLaMA-Factory v1 preference ({"chosen_messages", "rejected_messages"})',
  'unpaired-preference': 'unpaired preference ({"prompt", "completion", "label"} or {"messages", "label"})',
  'prompt-only': 'prompt-only ({"prompt"})',
  'question-answer': 'question-answer ({"question", "answer"})',
};

export const METHOD_FORMATS: Record<TrainingMethod, readonly DatasetFormat[]> = {
  sft: ['language-modeling', 'prompt-completion', 'pre-tokenized', 'alpaca', 'sharegpt'],
  dpo: ['preference', 'pre-tokenized-preference', 'alpaca-preference', 'sharegpt-preference', 'llamafactory-v1-preference'],
  // GRPO reads a prompt column and hands every other field to the reward functions (TRL's GRPOTrainer);
  // GSM8K's question is its prompt and its answer a field.
  grpo: ['prompt-only', 'prompt-completion', 'question-answer'],
  kto: ['unpaired-preference'],
};

/** How the studio names a method to a student ("this dataset fits DPO, SimPO and ORPO"). */
export const METHOD_NAMES: Record<TrainingMethod, string> = { sft: 'SFT', dpo: 'DPO, SimPO and ORPO', grpo: 'GRPO', kto: 'KTO' };

/** The methods that can train on a dataset of this format. */
export function methodsForFormat(format: DatasetFormat): TrainingMethod[] {
  return (Object.keys(METHOD_FORMATS) as TrainingMethod[]).filter((m) => METHOD_FORMATS[m].includes(format));
}

/** One way to spell a format's record: fields it must have, and optional ones that still hint at it. */
export interface FieldSet {
  required: readonly string[];
  optional?: readonly string[];
}

/** Every spelling of each format, for naming what a record lacks (recordFormat is the detector). */
export const FORMAT_FIELDS: Record<DatasetFormat, readonly FieldSet[]> = {
  'language-modeling': [{ required: ['text'] }, { required: ['messages'] }],
  'prompt-completion': [{ required: ['prompt', 'completion'] }],
  'pre-tokenized': [{ required: ['input_ids'], optional: ['completion_mask'] }],
  alpaca: [{ required: ['instruction', 'output'], optional: ['input', 'system'] }],
  sharegpt: [{ required: ['conversations'], optional: ['system'] }],
  preference: [{ required: ['chosen', 'rejected'], optional: ['prompt'] }],
  'pre-tokenized-preference': [
    { required: ['prompt_input_ids', 'chosen_input_ids', 'rejected_input_ids'] },
    { required: ['prompt_ids', 'chosen_ids', 'rejected_ids'] },
  ],
  'alpaca-preference': [{ required: ['instruction', 'chosen', 'rejected'], optional: ['input', 'system'] }],
  'sharegpt-preference': [{ required: ['conversations', 'chosen', 'rejected'], optional: ['system'] }],
  'llamafactory-v1-preference': [{ required: ['chosen_messages', 'rejected_messages'] }],
  'unpaired-preference': [{ required: ['prompt', 'completion', 'label'] }, { required: ['messages', 'label'] }],
  'prompt-only': [{ required: ['prompt'] }],
  'question-answer': [{ required: ['question', 'answer'] }],
};

const has = (r: Record<string, unknown>, key: string) => r[key] !== undefined && r[key] !== null;

/**
 * Token-id columns of a pre-tokenized pair: the names of old TRL's DPOTrainer.tokenize_row, then those of
 * current TRL's tokenize_fn / DataCollatorForPreference (trl/trainer/dpo_trainer.py).
 */
export const PAIR_ID_FIELDS = [
  { prompt: 'prompt_input_ids', chosen: 'chosen_input_ids', rejected: 'rejected_input_ids' },
  { prompt: 'prompt_ids', chosen: 'chosen_ids', rejected: 'rejected_ids' },
] as const;

/** The pair-id naming a record uses, or undefined. */
export function pairIdFields(r: Record<string, unknown>): (typeof PAIR_ID_FIELDS)[number] | undefined {
  return PAIR_ID_FIELDS.find((f) => has(r, f.chosen) && has(r, f.rejected));
}

function preferenceFormat(r: Record<string, unknown>): DatasetFormat | undefined {
  if (pairIdFields(r)) return 'pre-tokenized-preference';
  if (has(r, 'chosen_messages') && has(r, 'rejected_messages')) return 'llamafactory-v1-preference';
  if (!has(r, 'chosen') || !has(r, 'rejected')) return undefined;
  if (has(r, 'conversations')) return 'sharegpt-preference';
  if (has(r, 'instruction')) return 'alpaca-preference';
  return 'preference';
}

/** The format a record's fields say, or undefined when they match none. */
export function recordFormat(value: unknown): DatasetFormat | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const r = value as Record<string, unknown>;
  const preference = preferenceFormat(r);
  if (preference) return preference;
  if (has(r, 'input_ids')) return 'pre-tokenized';
  if (typeof r.label === 'boolean' && (has(r, 'completion') || has(r, 'messages'))) return 'unpaired-preference';
  if (has(r, 'prompt') && has(r, 'completion')) return 'prompt-completion';
  if (has(r, 'instruction') && has(r, 'output')) return 'alpaca';
  if (has(r, 'conversations')) return 'sharegpt';
  if (has(r, 'messages') || has(r, 'text')) return 'language-modeling';
  if (has(r, 'prompt')) return 'prompt-only';
  if (has(r, 'question') && has(r, 'answer')) return 'question-answer';
  return undefined;
}

/** The record's fields that hold a value (CSV's empty cells are null: they do not count). */
export function presentFields(value: unknown): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  const r = value as Record<string, unknown>;
  return Object.keys(r).filter((k) => has(r, k));
}

export function describeFields(value: unknown): string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return `a ${Array.isArray(value) ? 'list' : typeof value}, not an object`;
  const keys = Object.keys(value);
  return keys.length ? `fields ${keys.map((k) => `"${k}"`).join(', ')}` : 'no fields';
}
