// What kind of dataset a record belongs to, from its fields (domain.md; TRL's dataset types plus the
// Alpaca and ShareGPT shapes people import), and which training methods each kind can feed.

export type DatasetFormat =
  | 'language-modeling' // {text} or {messages}
  | 'prompt-completion' // {prompt, completion}
  | 'pre-tokenized' // {input_ids, completion_mask?}
  | 'alpaca' // {instruction, input?, output}
  | 'sharegpt' // {conversations: [{from, value}]}
  | 'preference' // {prompt?, chosen, rejected}
  | 'unpaired-preference' // {prompt, completion, label}
  | 'prompt-only'; // {prompt}

export type TrainingMethod = 'sft' | 'dpo' | 'grpo' | 'kto';

export const FORMAT_DESCRIPTIONS: Record<DatasetFormat, string> = {
  'language-modeling': 'language modeling ({"text"} or {"messages"})',
  'prompt-completion': 'prompt-completion ({"prompt", "completion"})',
  'pre-tokenized': 'pre-tokenized ({"input_ids", "completion_mask"?})',
  alpaca: 'Alpaca ({"instruction", "input", "output"})',
  sharegpt: 'ShareGPT ({"conversations": [{"from", "value"}]})',
  preference: 'preference ({"prompt", "chosen", "rejected"})',
  'unpaired-preference': 'unpaired preference ({"prompt", "completion", "label"} or {"messages", "label"})',
  'prompt-only': 'prompt-only ({"prompt"})',
};

export const METHOD_FORMATS: Record<TrainingMethod, readonly DatasetFormat[]> = {
  sft: ['language-modeling', 'prompt-completion', 'pre-tokenized', 'alpaca', 'sharegpt'],
  dpo: ['preference'],
  grpo: ['prompt-only', 'prompt-completion'],
  kto: ['unpaired-preference'],
};

const has = (r: Record<string, unknown>, key: string) => r[key] !== undefined && r[key] !== null;

/** The format a record's fields say, or undefined when they match none. */
export function recordFormat(value: unknown): DatasetFormat | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const r = value as Record<string, unknown>;
  if (has(r, 'input_ids')) return 'pre-tokenized';
  if (has(r, 'chosen') && has(r, 'rejected')) return 'preference';
  if (has(r, 'chosen_messages') && has(r, 'rejected_messages')) return 'preference'; // LLaMA-Factory v1
  if (typeof r.label === 'boolean' && (has(r, 'completion') || has(r, 'messages'))) return 'unpaired-preference';
  if (has(r, 'prompt') && has(r, 'completion')) return 'prompt-completion';
  if (has(r, 'instruction') && has(r, 'output')) return 'alpaca';
  if (has(r, 'conversations')) return 'sharegpt';
  if (has(r, 'messages') || has(r, 'text')) return 'language-modeling';
  if (has(r, 'prompt')) return 'prompt-only';
  return undefined;
}

export function describeFields(value: unknown): string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return `a ${Array.isArray(value) ? 'list' : typeof value}, not an object`;
  const keys = Object.keys(value);
  return keys.length ? `fields ${keys.map((k) => `"${k}"`).join(', ')}` : 'no fields';
}
