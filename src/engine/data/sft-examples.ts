// SFT records normalised to a few example shapes the tokenizer step understands. Alpaca and ShareGPT
// become conversations (rendered later through the model's chat template); a record with a bad field is
// reported with its line and the field, and the rest of the dataset is kept.

import type { DetectedRecords } from './detect';
import { isMessageList, normalizeMessages, type ChatMessage } from './messages';
import { ErrorTally, type LineErrors } from './line-errors';

export type SftExample =
  /** Loss on every token. */
  | { kind: 'text'; text: string }
  /** Loss on the turns marked train (assistant turns by default), end-of-turn tokens included. */
  | { kind: 'chat'; messages: ChatMessage[] }
  /** Loss on the completion only. */
  | { kind: 'prompt-completion'; prompt: string; completion: string }
  | { kind: 'chat-prompt-completion'; prompt: ChatMessage[]; completion: ChatMessage[] }
  /** completionMask[i] = 1 where token i is trained (all when absent). */
  | { kind: 'tokens'; inputIds: number[]; completionMask?: number[] };

export interface SftRecord {
  line: number;
  example: SftExample;
}

export interface SftDataset extends LineErrors {
  file: string;
  format: DetectedRecords['format'];
  examples: SftRecord[];
}

function str(r: Record<string, unknown>, key: string): string {
  const v = r[key];
  if (typeof v !== 'string') throw new Error(`field "${key}" must be a string`);
  return v;
}

function intList(r: Record<string, unknown>, key: string): number[] {
  const v = r[key];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error(`field "${key}" must be a non-empty list of non-negative integers`);
  }
  return v as number[];
}

function toExample(format: DetectedRecords['format'], r: Record<string, unknown>): SftExample {
  switch (format) {
    case 'language-modeling':
      if (r.messages !== undefined) return { kind: 'chat', messages: normalizeMessages(r.messages, 'messages') };
      return { kind: 'text', text: str(r, 'text') };
    case 'prompt-completion':
      if (isMessageList(r.prompt) || isMessageList(r.completion)) {
        return { kind: 'chat-prompt-completion', prompt: normalizeMessages(r.prompt, 'prompt'), completion: normalizeMessages(r.completion, 'completion') };
      }
      return { kind: 'prompt-completion', prompt: str(r, 'prompt'), completion: str(r, 'completion') };
    case 'pre-tokenized': {
      const inputIds = intList(r, 'input_ids');
      if (r.completion_mask === undefined || r.completion_mask === null) return { kind: 'tokens', inputIds };
      const mask = r.completion_mask;
      if (!Array.isArray(mask) || mask.length !== inputIds.length || !mask.every((m) => m === 0 || m === 1)) {
        throw new Error(`field "completion_mask" must be a list of 0/1 as long as input_ids (${inputIds.length})`);
      }
      return { kind: 'tokens', inputIds, completionMask: mask as number[] };
    }
    case 'alpaca': {
      const input = r.input === undefined || r.input === null ? '' : str(r, 'input');
      const user = input ? `${str(r, 'instruction')}\n${input}` : str(r, 'instruction');
      const messages: ChatMessage[] = [];
      if (typeof r.system === 'string' && r.system) messages.push({ role: 'system', content: r.system, train: false });
      messages.push({ role: 'user', content: user, train: false }, { role: 'assistant', content: str(r, 'output'), train: true });
      return { kind: 'chat', messages };
    }
    case 'sharegpt': {
      const messages = normalizeMessages(r.conversations, 'conversations');
      if (typeof r.system === 'string' && r.system) messages.unshift({ role: 'system', content: r.system, train: false });
      return { kind: 'chat', messages };
    }
    default:
      throw new Error(`format ${format} is not an SFT format`);
  }
}

function hasTrainedTokens(e: SftExample): boolean {
  switch (e.kind) {
    case 'text':
      return e.text.length > 0;
    case 'chat':
      return e.messages.some((m) => m.train);
    case 'prompt-completion':
      return e.completion.length > 0;
    case 'chat-prompt-completion':
      return e.completion.length > 0;
    case 'tokens':
      return !e.completionMask || e.completionMask.some((m) => m === 1);
  }
}

/** Normalises every record of an SFT-compatible dataset (see detectFormat). */
export function toSftDataset(detected: DetectedRecords): SftDataset {
  const errors = new ErrorTally(detected);
  const examples: SftRecord[] = [];
  for (const { line, value } of detected.records) {
    try {
      const example = toExample(detected.format, value as Record<string, unknown>);
      if (!hasTrainedTokens(example)) throw new Error('has nothing to train on (empty completion or no trained turn)');
      examples.push({ line, example });
    } catch (err) {
      errors.add({ line, message: (err as Error).message });
    }
  }
  return { file: detected.file, format: detected.format, examples, ...errors.result() };
}
