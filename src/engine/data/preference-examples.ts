// Preference records (DPO, SimPO, ORPO) normalised to prompt / chosen / rejected, as TRL's DPOTrainer reads
// them: text, chat messages, or token ids. LLaMA-Factory's Alpaca and ShareGPT pairs become chats; pairs
// without an explicit prompt get TRL's extract_prompt (the longest common prefix). A record with a bad
// field is reported with its line and the field, and the rest of the dataset is kept; a pair whose chosen
// answer equals the rejected one teaches nothing, so it is counted and skipped, not reported as an error.

import type { DetectedRecords } from './detect';
import { METHOD_FORMATS, PAIR_ID_FIELDS, pairIdFields, type DatasetFormat } from './formats';
import { normalizeMessage, normalizeMessages, sameMessage, type ChatMessage } from './messages';
import { ErrorTally, type LineErrors } from './line-errors';

export type PreferenceExample =
  | { kind: 'text'; prompt: string; chosen: string; rejected: string }
  | { kind: 'chat'; prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] }
  /** Ids used exactly as given: no BOS or EOS is added. */
  | { kind: 'tokens'; prompt: number[]; chosen: number[]; rejected: number[] };

export interface PreferenceRecord {
  line: number;
  example: PreferenceExample;
}

export interface PreferenceDataset extends LineErrors {
  file: string;
  format: DatasetFormat;
  examples: PreferenceRecord[];
  /** pairs skipped because chosen equals rejected */
  identical: number;
}

type Fields = Record<string, unknown>;
type TextPair = { kind: 'text'; prompt?: string; chosen: string; rejected: string };
type ChatPair = { kind: 'chat'; prompt?: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] };
/** A pair as read: `prompt` undefined means the prompt is implicit in chosen and rejected. */
type RawPair = (TextPair | ChatPair | Extract<PreferenceExample, { kind: 'tokens' }>) & {
  /** The record's names for the two answers, for errors. */
  names: { chosen: string; rejected: string };
};

const ANSWERS = { chosen: 'chosen', rejected: 'rejected' };

function text(r: Fields, key: string): string {
  if (typeof r[key] !== 'string') throw new Error(`field "${key}" must be a string`);
  return r[key];
}

function optionalText(r: Fields, key: string): string {
  return r[key] === undefined || r[key] === null ? '' : text(r, key);
}

/** A TRL field: text, or a conversation (a list of messages). */
function textOrChat(r: Fields, key: string): string | ChatMessage[] {
  const v = r[key];
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return normalizeMessages(v, key);
  throw new Error(`field "${key}" must be a string or a list of messages`);
}

function tokenIds(r: Fields, key: string): number[] {
  const v = r[key];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error(`field "${key}" must be a non-empty list of non-negative integers`);
  }
  return v as number[];
}

/** TRL's standard or conversational preference record, explicit or implicit prompt. */
function trlPair(r: Fields): RawPair {
  const chosen = textOrChat(r, 'chosen');
  const rejected = textOrChat(r, 'rejected');
  if (typeof chosen === 'string' && typeof rejected === 'string') {
    // A prompt of the other kind than the answers is ignored and the prompt extracted (TRL's
    // maybe_extract_prompt in trl/data_utils.py).
    const prompt = typeof r.prompt === 'string' ? r.prompt : undefined;
    return { kind: 'text', prompt, chosen, rejected, names: ANSWERS };
  }
  if (Array.isArray(chosen) && Array.isArray(rejected)) {
    const prompt = Array.isArray(r.prompt) ? normalizeMessages(r.prompt, 'prompt') : undefined;
    return { kind: 'chat', prompt, chosen, rejected, names: ANSWERS };
  }
  throw new Error('fields "chosen" and "rejected" must both be strings or both be lists of messages');
}

/** One assistant answer of a LLaMA-Factory pair. */
function answer(content: string): ChatMessage[] {
  return [{ role: 'assistant', content, train: true }];
}

/** LLaMA-Factory's ShareGPT pair: chosen/rejected are single {from: "gpt", value} messages. */
function assistantMessage(r: Fields, key: string): ChatMessage[] {
  const m = normalizeMessage(r[key], key);
  if (m.role !== 'assistant') throw new Error(`field "${key}" must be the assistant's answer ("from": "gpt"), not a ${m.role} message`);
  return [m];
}

function withSystem(r: Fields, messages: ChatMessage[]): ChatMessage[] {
  const system = optionalText(r, 'system');
  return system ? [{ role: 'system', content: system, train: false }, ...messages] : messages;
}

function rawPair(format: DatasetFormat, r: Fields): RawPair {
  switch (format) {
    case 'preference':
      return trlPair(r);
    case 'alpaca-preference': {
      // The user turn is instruction + "\n" + input, as for SFT Alpaca records (LLaMA-Factory's converter).
      const input = optionalText(r, 'input');
      const user = input ? `${text(r, 'instruction')}\n${input}` : text(r, 'instruction');
      const prompt = withSystem(r, [{ role: 'user', content: user, train: false }]);
      return { kind: 'chat', prompt, chosen: answer(text(r, 'chosen')), rejected: answer(text(r, 'rejected')), names: ANSWERS };
    }
    case 'sharegpt-preference': {
      const prompt = withSystem(r, normalizeMessages(r.conversations, 'conversations'));
      return { kind: 'chat', prompt, chosen: assistantMessage(r, 'chosen'), rejected: assistantMessage(r, 'rejected'), names: ANSWERS };
    }
    case 'llamafactory-v1-preference': {
      const names = { chosen: 'chosen_messages', rejected: 'rejected_messages' };
      return { kind: 'chat', chosen: normalizeMessages(r.chosen_messages, names.chosen), rejected: normalizeMessages(r.rejected_messages, names.rejected), names };
    }
    case 'pre-tokenized-preference': {
      const names = pairIdFields(r) ?? PAIR_ID_FIELDS[0];
      return { kind: 'tokens', prompt: tokenIds(r, names.prompt), chosen: tokenIds(r, names.chosen), rejected: tokenIds(r, names.rejected), names };
    }
    default:
      throw new Error(`format ${format} is not a preference format`);
  }
}

function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((x, i) => same(x, b[i]));
}

function isIdentical(pair: RawPair): boolean {
  if (pair.kind === 'chat') return sameList(pair.chosen, pair.rejected, sameMessage);
  if (pair.kind === 'tokens') return sameList(pair.chosen, pair.rejected, (x, y) => x === y);
  return pair.chosen === pair.rejected;
}

/**
 * Where the completions start, by TRL's extract_prompt (trl/data_utils.py): at the first element where the
 * two differ, moved back by one when the character before is a space (the space goes to the completions).
 * When the shorter one is a prefix of the other, TRL's loop variable ends on its last index, so that last
 * shared element starts both completions. (TRL reads chosen[-1], the last character, when the very first
 * characters differ; here a difference at 0 always gives an empty prompt.)
 */
function promptLength<T>(chosen: readonly T[], rejected: readonly T[], same: (a: T, b: T) => boolean): number {
  const n = Math.min(chosen.length, rejected.length);
  for (let i = 0; i < n; i++) {
    if (!same(chosen[i], rejected[i])) return i > 0 && chosen[i - 1] === ' ' ? i - 1 : i;
  }
  return Math.max(0, n - 1);
}

/** The pair with its prompt made explicit, and checked: answers not empty, a chat prompt not empty. */
function withPrompt(pair: RawPair): PreferenceExample {
  const { names } = pair;
  if (pair.kind === 'tokens') return { kind: 'tokens', prompt: pair.prompt, chosen: pair.chosen, rejected: pair.rejected };
  if (pair.kind === 'chat') {
    if (pair.prompt) return { kind: 'chat', prompt: pair.prompt, chosen: pair.chosen, rejected: pair.rejected };
    const at = promptLength(pair.chosen, pair.rejected, sameMessage);
    if (at === 0) {
      throw new Error(`"${names.chosen}" and "${names.rejected}" do not start with the same message, so they have no shared prompt (the turns both start with are the prompt)`);
    }
    return { kind: 'chat', prompt: pair.chosen.slice(0, at), chosen: pair.chosen.slice(at), rejected: pair.rejected.slice(at) };
  }
  let example: Extract<PreferenceExample, { kind: 'text' }>;
  if (pair.prompt !== undefined) {
    example = { kind: 'text', prompt: pair.prompt, chosen: pair.chosen, rejected: pair.rejected };
  } else {
    // Code points, as Python indexes strings (a UTF-16 index could split an emoji).
    const chosen = Array.from(pair.chosen);
    const rejected = Array.from(pair.rejected);
    const at = promptLength(chosen, rejected, (a, b) => a === b);
    example = { kind: 'text', prompt: chosen.slice(0, at).join(''), chosen: chosen.slice(at).join(''), rejected: rejected.slice(at).join('') };
  }
  for (const side of ['chosen', 'rejected'] as const) {
    if (example[side] === '') throw new Error(`field "${names[side]}" has no answer${pair.prompt === undefined ? ' after the shared prompt' : ''}: an empty completion cannot be compared`);
  }
  return example;
}

/** Normalises every record of a preference dataset (see detectFormat with 'dpo'). */
export function toPreferenceDataset(detected: DetectedRecords): PreferenceDataset {
  if (!METHOD_FORMATS.dpo.includes(detected.format)) throw new Error(`${detected.file}: format ${detected.format} is not a preference format`);
  const errors = new ErrorTally(detected);
  const examples: PreferenceRecord[] = [];
  let identical = 0;
  for (const { line, value } of detected.records) {
    try {
      const pair = rawPair(detected.format, value as Fields);
      if (isIdentical(pair)) identical++;
      else examples.push({ line, example: withPrompt(pair) });
    } catch (err) {
      errors.add({ line, message: (err as Error).message });
    }
  }
  return { file: detected.file, format: detected.format, examples, ...errors.result(), identical };
}
