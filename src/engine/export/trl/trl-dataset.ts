// The run's records in TRL's dataset formats (docs/source/dataset_formats.md of huggingface/trl), one JSON
// object a line, as `datasets.load_dataset("json")` reads them:
// - SFT: {"text"} (language modeling), {"prompt", "completion"} as strings or message lists (loss on the
//   completion: completion_only_loss), {"messages"} (assistant_only_loss), {"input_ids", "completion_mask"}.
//   A conversation whose only trained turn is its last, an assistant turn (Alpaca, ShareGPT and most chat
//   data), is written as conversational prompt-completion: TRL masks it with any chat template, whereas
//   assistant_only_loss needs a template with {% generation %} markers (trl/trainer/sft_trainer.py).
// - Preference: {"prompt", "chosen", "rejected"} with the prompt made explicit, strings or message lists.
// - GRPO: {"prompt"} plus one column per field the rewards read. GRPOTrainer hands every column but
//   "prompt", "completion" and "completion_ids" to the reward functions as keyword arguments, beside its own
//   (prompts, completions, trainer_state, log_extra, log_metric, environments; grpo_trainer.py
//   _calculate_rewards), so a field with one of those names is written under TUNELAB_FIELD_PREFIX + name and
//   rewards.py maps it back.
// Arrow gives a column one type, so a dataset whose records need two shapes, or a field holding text in one
// record and a number in another, is refused naming the lines.

import type { ChatMessage } from '../../data/messages';
import type { PreferenceExample, PreferenceRecord } from '../../data/preference-examples';
import type { PromptRecord } from '../../data/prompt-examples';
import type { SftExample, SftRecord } from '../../data/sft-examples';
import { TRL_VERSION, TrlExportError, type TrlProjectSpec } from './trl-spec';

export type TrlRow = Record<string, unknown>;

export interface TrlDataset {
  /** What the rows are, in TRL's words ("conversational prompt-completion"). */
  shape: string;
  columns: string[];
  train: TrlRow[];
  eval: TrlRow[];
  /** SFTConfig's loss switches this shape needs. */
  sftLoss?: { completionOnlyLoss: boolean; assistantOnlyLoss: boolean };
  /** GRPO: dataset column -> the example field the rewards read, in column order. */
  fieldColumns?: Record<string, string>;
  /** Where the rows cannot say what the run trained (README). */
  notes: string[];
}

export const TUNELAB_FIELD_PREFIX = 'tunelab_field_';

/** Names GRPOTrainer drops or passes itself, which a dataset field must not take. */
const RESERVED_GRPO_COLUMNS = new Set(['prompt', 'completion', 'completion_ids', 'prompts', 'completions', 'trainer_state', 'log_extra', 'log_metric', 'environments']);

const messages = (list: readonly ChatMessage[]) => list.map((m) => ({ role: m.role, content: m.content }));

type Tagged<R> = { record: R; split: 'train' | 'eval' };

function tagged<R>(train: readonly R[], held: readonly R[]): Tagged<R>[] {
  return [...train.map((record) => ({ record, split: 'train' as const })), ...held.map((record) => ({ record, split: 'eval' as const }))];
}

/** Refuses records of more than one shape, naming a line of each. */
function oneShape<R extends { line: number }>(rows: readonly Tagged<R>[], shapeOf: (r: R) => string, what: string): string {
  const first = new Map<string, Tagged<R>>();
  for (const row of rows) if (!first.has(shapeOf(row.record))) first.set(shapeOf(row.record), row);
  if (first.size > 1) {
    const seen = [...first.entries()].map(([shape, r]) => `${r.split} line ${r.record.line} is ${shape}`);
    throw new TrlExportError(`${what} mix shapes (${seen.join(', ')}): a TRL dataset has one shape, so the records must all be one kind`);
  }
  return [...first.keys()][0];
}

/** Whether a conversation's only trained message is its last, an assistant's, after at least one other. */
function finalTurnOnly(list: readonly ChatMessage[]): boolean {
  const last = list.length - 1;
  return last >= 1 && list[last].role === 'assistant' && list.every((m, i) => m.train === (i === last));
}

const SFT_SHAPE: Record<SftExample['kind'], string> = {
  text: 'language modeling ("text")',
  chat: 'conversational language modeling ("messages")',
  'prompt-completion': 'prompt-completion ("prompt", "completion")',
  'chat-prompt-completion': 'conversational prompt-completion ("prompt", "completion" as message lists)',
  tokens: 'pre-tokenized ("input_ids", "completion_mask")',
};

function sftDataset(spec: TrlProjectSpec, train: readonly SftRecord[], held: readonly SftRecord[]): TrlDataset {
  const rows = tagged(train, held);
  const kind = oneShape(rows, (r) => r.example.kind, 'the SFT records') as SftExample['kind'];
  const notes: string[] = [];
  const write = (convert: (e: SftExample) => TrlRow) => ({ train: train.map((r) => convert(r.example)), eval: held.map((r) => convert(r.example)) });
  switch (kind) {
    case 'text':
      return { shape: SFT_SHAPE.text, columns: ['text'], ...write((e) => ({ text: (e as { text: string }).text })), sftLoss: { completionOnlyLoss: false, assistantOnlyLoss: false }, notes };
    case 'prompt-completion': {
      const convert = (e: SftExample) => {
        const pc = e as Extract<SftExample, { kind: 'prompt-completion' }>;
        return { prompt: pc.prompt, completion: pc.completion };
      };
      return { shape: SFT_SHAPE['prompt-completion'], columns: ['prompt', 'completion'], ...write(convert), sftLoss: { completionOnlyLoss: spec.completionOnly, assistantOnlyLoss: false }, notes };
    }
    case 'chat-prompt-completion': {
      const convert = (e: SftExample) => {
        const pc = e as Extract<SftExample, { kind: 'chat-prompt-completion' }>;
        return { prompt: messages(pc.prompt), completion: messages(pc.completion) };
      };
      return { shape: SFT_SHAPE['chat-prompt-completion'], columns: ['prompt', 'completion'], ...write(convert), sftLoss: { completionOnlyLoss: spec.completionOnly, assistantOnlyLoss: false }, notes };
    }
    case 'tokens': {
      const convert = (e: SftExample) => {
        const t = e as Extract<SftExample, { kind: 'tokens' }>;
        return { input_ids: t.inputIds, completion_mask: t.completionMask ?? t.inputIds.map(() => 1) };
      };
      // The mask is the run's (all ones where the record had none): TRL applies it with completion_only_loss.
      return { shape: SFT_SHAPE.tokens, columns: ['input_ids', 'completion_mask'], ...write(convert), sftLoss: { completionOnlyLoss: true, assistantOnlyLoss: false }, notes };
    }
    case 'chat':
      return chatDataset(rows, write, notes);
  }
}

/** Conversations: prompt-completion when every one trains only its final assistant turn, else "messages". */
function chatDataset(rows: readonly Tagged<SftRecord>[], write: (convert: (e: SftExample) => TrlRow) => { train: TrlRow[]; eval: TrlRow[] }, notes: string[]): TrlDataset {
  const list = (e: SftExample) => (e as Extract<SftExample, { kind: 'chat' }>).messages;
  if (rows.every((r) => finalTurnOnly(list(r.record.example)))) {
    const convert = (e: SftExample) => ({ prompt: messages(list(e).slice(0, -1)), completion: messages(list(e).slice(-1)) });
    return { shape: SFT_SHAPE['chat-prompt-completion'], columns: ['prompt', 'completion'], ...write(convert), sftLoss: { completionOnlyLoss: true, assistantOnlyLoss: false }, notes };
  }
  // assistant_only_loss trains every assistant turn: a turn marked otherwise (loss_weight) cannot be said.
  const odd = rows.filter((r) => list(r.record.example).some((m) => m.train !== (m.role === 'assistant')));
  if (odd.length > 0) {
    const lines = odd.slice(0, 5).map((r) => `${r.split} line ${r.record.line}`);
    notes.push(`${odd.length} conversation${odd.length === 1 ? '' : 's'} (${lines.join(', ')}${odd.length > 5 ? ', ...' : ''}) mark turns trained or not by loss_weight; TRL's assistant_only_loss trains every assistant turn and nothing else.`);
  }
  notes.push("Conversations with several trained turns use TRL's assistant_only_loss, which needs a chat template with {% generation %} markers: TRL 1.10 swaps in its own for the templates it knows (Qwen2.5, Llama 3, Gemma, Phi-3, ...) and refuses others.");
  return { shape: SFT_SHAPE.chat, columns: ['messages'], ...write((e) => ({ messages: messages(list(e)) })), sftLoss: { completionOnlyLoss: false, assistantOnlyLoss: true }, notes };
}

function preferenceRow(e: PreferenceExample): TrlRow {
  if (e.kind === 'text') return { prompt: e.prompt, chosen: e.chosen, rejected: e.rejected };
  if (e.kind === 'chat') return { prompt: messages(e.prompt), chosen: messages(e.chosen), rejected: messages(e.rejected) };
  throw new TrlExportError('pre-tokenized pairs cannot be exported');
}

function preferenceDataset(train: readonly PreferenceRecord[], held: readonly PreferenceRecord[]): TrlDataset {
  const rows = tagged(train, held);
  const tokens = rows.find((r) => r.record.example.kind === 'tokens');
  if (tokens) {
    throw new TrlExportError(
      `${tokens.split} line ${tokens.record.line} is a pre-tokenized pair: TRL ${TRL_VERSION}'s DPOTrainer (and the experimental CPO and ORPO trainers) tokenize "prompt", "chosen" and "rejected" text themselves and take no token ids; export a text or conversational preference dataset instead`,
    );
  }
  const kind = oneShape(rows, (r) => (r.example.kind === 'chat' ? 'conversational' : 'text'), 'the preference pairs');
  const shape = kind === 'conversational' ? 'conversational preference ("prompt", "chosen", "rejected" as message lists)' : 'preference ("prompt", "chosen", "rejected")';
  return { shape, columns: ['prompt', 'chosen', 'rejected'], train: train.map((r) => preferenceRow(r.example)), eval: held.map((r) => preferenceRow(r.example)), notes: [] };
}

const jsonType = (v: unknown) => (Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/** GRPO: the prompt column and one column per field, each of one JSON type across the records. */
function promptDataset(train: readonly PromptRecord[], held: readonly PromptRecord[]): TrlDataset {
  const rows = tagged(train, held);
  const kind = oneShape(rows, (r) => (typeof r.prompt === 'string' ? 'a text prompt' : 'a conversation'), 'the prompts');
  const fieldColumns: Record<string, string> = {};
  const typeSeen = new Map<string, { type: string; row: Tagged<PromptRecord> }>();
  for (const row of rows) {
    for (const [field, value] of Object.entries(row.record.fields)) {
      const column = RESERVED_GRPO_COLUMNS.has(field) ? TUNELAB_FIELD_PREFIX + field : field;
      fieldColumns[column] = field;
      if (value === null || value === undefined) continue;
      const type = jsonType(value);
      const seen = typeSeen.get(field);
      if (!seen) typeSeen.set(field, { type, row });
      else if (seen.type !== type) {
        throw new TrlExportError(
          `field "${field}" is ${seen.type} in ${seen.row.split} line ${seen.row.record.line} and ${type} in ${row.split} line ${row.record.line}: a dataset column holds one type, so the reward field must be one type in every record`,
        );
      }
    }
  }
  const columnOf = Object.fromEntries(Object.entries(fieldColumns).map(([column, field]) => [field, column]));
  const convert = (r: PromptRecord): TrlRow => {
    const row: TrlRow = { prompt: typeof r.prompt === 'string' ? r.prompt : messages(r.prompt) };
    for (const [field, value] of Object.entries(r.fields)) if (value !== undefined) row[columnOf[field]] = value;
    return row;
  };
  const shape = kind === 'a text prompt' ? 'prompt-only ("prompt")' : 'conversational prompt-only ("prompt" as a message list)';
  return { shape, columns: ['prompt', ...Object.keys(fieldColumns)], train: train.map(convert), eval: held.map(convert), fieldColumns, notes: [] };
}

/** The spec's records as TRL's dataset for its method. */
export function trlDataset(spec: TrlProjectSpec): TrlDataset {
  const r = spec.records;
  if (r.family === 'sft') return sftDataset(spec, r.train, r.eval);
  if (r.family === 'preference') return preferenceDataset(r.train, r.eval);
  return promptDataset(r.train, r.eval);
}

/** One JSON object a line, with a final newline. */
export function jsonl(rows: readonly TrlRow[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + (rows.length ? '\n' : '');
}
