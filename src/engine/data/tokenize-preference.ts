// Preference pairs -> a shared prompt and two completions as token ids, truncated as TRL truncates them.
// Text: the prompt encoded with the tokenizer's special tokens, prompt + answer encoded as a whole with EOS
// appended, and the boundary found by common prefix (so merges across it never move it); chats go through
// the model's chat template (prompt with the generation prompt, prompt + answer without: the template ends
// the turn); token ids are used exactly. Sources in TRL: DPOTrainer._prepare_dataset / tokenize_fn
// (trl/trainer/dpo_trainer.py) for the encoding and for dropping prompts that fill max_length; the older
// DPOTrainer.tokenize_row and concatenated_forward (8e8e62b38) for max_prompt_length (keep the prompt's end)
// and max_length (keep the sequence's start).

import { ChatTemplate, ChatTemplateLimitError } from '../model/chat-template';
import type { ModelTokenizer } from '../model/tokenizer';
import type { ChatMessage } from './messages';
import type { PreferenceDataset, PreferenceExample } from './preference-examples';
import type { RecordError } from './read-records';
import { checkPairTokenIds } from './token-ids';

export interface TokenizedPair {
  line: number;
  /** shared prompt ids */
  prompt: number[];
  /** completion ids after the prompt */
  chosen: number[];
  rejected: number[];
}

export interface PreferenceTokenizeOptions {
  /** whole sequence (prompt + completion) */
  maxLength: number;
  /** prompt alone; default 512 as TRL's old max_prompt_length */
  maxPromptLength?: number;
}

/** Counts are over the pairs returned (a pair that becomes an error or is skipped is not counted twice). */
export interface TokenizedPreferenceDataset {
  pairs: TokenizedPair[];
  errors: RecordError[];
  /** Pairs whose prompt was cut to its last maxPromptLength tokens. */
  promptTruncated: number;
  /** Pairs whose prompt + chosen or prompt + rejected was cut to its first maxLength tokens. */
  truncated: number;
  /** Pairs skipped because chosen and rejected have the same ids after truncation (equal text was counted before). */
  identical: number;
  /** Pairs whose prompt ids were not a prefix of prompt + answer (the prompt is then the common prefix). */
  boundaryMismatches: number;
}

/** TRL's DPOConfig.max_prompt_length default before it was removed. */
export const DEFAULT_MAX_PROMPT_LENGTH = 512;

interface EncodedPair {
  prompt: number[];
  chosen: number[];
  rejected: number[];
  mismatch: boolean;
}

function sharedLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  for (; i < n && a[i] === b[i]; i++);
  return i;
}

const sameIds = (a: readonly number[], b: readonly number[]) => a.length === b.length && sharedLength(a, b) === a.length;

class PairEncoder {
  constructor(
    private readonly tokenizer: ModelTokenizer,
    /** Present when the dataset holds chats (built up front, so a missing template refuses the whole dataset). */
    private readonly template: ChatTemplate | undefined,
  ) {}

  private chatIds(messages: readonly ChatMessage[], addGenerationPrompt: boolean): number[] {
    // The rendered text carries its own special tokens (BOS included where the template writes it).
    const rendered = this.template!.render(messages, { addGenerationPrompt });
    return this.tokenizer.encode(rendered, { addSpecialTokens: false });
  }

  /** prompt + answer as text, EOS appended when the tokenizer did not end it with one (TRL's add_eos). */
  private textIds(text: string): number[] {
    const ids = this.tokenizer.encode(text);
    const eos = this.tokenizer.eosTokenIds[0];
    return eos === undefined || ids.at(-1) === eos ? ids : [...ids, eos];
  }

  encode(e: PreferenceExample): EncodedPair {
    if (e.kind === 'tokens') return { prompt: [...e.prompt], chosen: [...e.chosen], rejected: [...e.rejected], mismatch: false };
    const prompt = e.kind === 'text' ? this.tokenizer.encode(e.prompt) : this.chatIds(e.prompt, true);
    const chosenFull = e.kind === 'text' ? this.textIds(e.prompt + e.chosen) : this.chatIds([...e.prompt, ...e.chosen], false);
    const rejectedFull = e.kind === 'text' ? this.textIds(e.prompt + e.rejected) : this.chatIds([...e.prompt, ...e.rejected], false);
    // The shared prompt is what both full sequences start with, so prompt + answer is always the full sequence.
    const n = Math.min(sharedLength(prompt, chosenFull), sharedLength(prompt, rejectedFull));
    return { prompt: prompt.slice(0, n), chosen: chosenFull.slice(n), rejected: rejectedFull.slice(n), mismatch: n < prompt.length };
  }
}

function checkLength(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
}

/** Every pair as ids; pre-tokenized pairs must fit the model's vocabulary (TokenIdRangeError names the first id beyond it). */
export function tokenizePreferenceDataset(dataset: PreferenceDataset, tokenizer: ModelTokenizer, options: PreferenceTokenizeOptions): TokenizedPreferenceDataset {
  const { maxLength, maxPromptLength = DEFAULT_MAX_PROMPT_LENGTH } = options;
  checkLength('maximum length', maxLength, 2);
  checkLength('maximum prompt length', maxPromptLength, 1);
  checkPairTokenIds(dataset, tokenizer.vocabSize);
  const hasChats = dataset.examples.some((r) => r.example.kind === 'chat');
  const encoder = new PairEncoder(tokenizer, hasChats ? new ChatTemplate(tokenizer.tokenizerConfig) : undefined);
  const out: TokenizedPreferenceDataset = { pairs: [], errors: [], promptTruncated: 0, truncated: 0, identical: 0, boundaryMismatches: 0 };
  for (const { line, example } of dataset.examples) {
    let encoded: EncodedPair;
    try {
      encoded = encoder.encode(example);
    } catch (err) {
      // A template that ran out of time is not run again (chat-template.ts): the dataset stops with its error.
      if (err instanceof ChatTemplateLimitError && err.limit === 'time') throw err;
      // A template's raise_exception (e.g. roles that must alternate) concerns this record only.
      out.errors.push({ line, message: (err as Error).message });
      continue;
    }
    if (encoded.chosen.length === 0 || encoded.rejected.length === 0) {
      out.errors.push({ line, message: `has no ${encoded.chosen.length === 0 ? 'chosen' : 'rejected'} answer token after the prompt` });
      continue;
    }
    const promptCut = encoded.prompt.length > maxPromptLength;
    const prompt = promptCut ? encoded.prompt.slice(-maxPromptLength) : encoded.prompt;
    if (prompt.length >= maxLength) {
      // keep_start would leave no answer token: current TRL drops such pairs.
      out.errors.push({ line, message: `has a prompt of ${prompt.length} tokens, which leaves no room for an answer within the maximum length of ${maxLength} tokens` });
      continue;
    }
    const room = maxLength - prompt.length;
    const chosen = encoded.chosen.slice(0, room);
    const rejected = encoded.rejected.slice(0, room);
    if (sameIds(chosen, rejected)) {
      out.identical++;
      continue;
    }
    if (promptCut) out.promptTruncated++;
    if (chosen.length < encoded.chosen.length || rejected.length < encoded.rejected.length) out.truncated++;
    if (encoded.mismatch) out.boundaryMismatches++;
    out.pairs.push({ line, prompt, chosen, rejected });
  }
  return out;
}
