// Saved datasets as IndexedDB holds them (schema v4). Storage owns these shapes: they mirror the engine's
// example types field for field, but never import them, so an engine refactor cannot change what is stored
// without failing to compile where the worker maps one to the other. The 'grpo' family widened the method
// union without a schema bump: IndexedDB stores whatever it is given, no index reads the method, and every
// record saved before is still a valid 'sft' or 'dpo' record. The count of skipped lines (skippedCount,
// since the skipped lines kept were capped) is optional for the same reason: a record saved before it kept
// every skipped line, so its list's length is its count, and lists read it through datasetSummary.

/**
 * Which family a dataset's examples feed: SFT examples, preference pairs (read by DPO, SimPO and ORPO), or
 * prompts with their other fields (read by GRPO; a prompt-completion dataset is stored as SFT and GRPO reads
 * its prompts too).
 */
export type DatasetMethod = 'sft' | 'dpo' | 'grpo';

/** A line skipped at import, with why. */
export interface StoredRecordError {
  line: number;
  message: string;
}

/** One turn of a conversation; `train` marks the turns whose tokens are trained. */
export interface StoredChatMessage {
  role: string;
  content: string;
  train: boolean;
}

/** Mirror of SftExample (src/engine/data/sft-examples.ts), field for field. */
export type StoredSftExample =
  | { kind: 'text'; text: string }
  | { kind: 'chat'; messages: StoredChatMessage[] }
  | { kind: 'prompt-completion'; prompt: string; completion: string }
  | { kind: 'chat-prompt-completion'; prompt: StoredChatMessage[]; completion: StoredChatMessage[] }
  /** completionMask[i] = 1 where token i is trained (all when absent). */
  | { kind: 'tokens'; inputIds: number[]; completionMask?: number[] };

/** A prompt with a chosen and a rejected answer. */
export type StoredPreferenceExample =
  | { kind: 'text'; prompt: string; chosen: string; rejected: string }
  | { kind: 'chat'; prompt: StoredChatMessage[]; chosen: StoredChatMessage[]; rejected: StoredChatMessage[] }
  | { kind: 'tokens'; prompt: number[]; chosen: number[]; rejected: number[] };

/**
 * Mirror of PromptRecord (src/engine/data/prompt-examples.ts) less its line: text, or a conversation rendered
 * through the chat template with the generation prompt; `fields` are the record's other fields as the file
 * held them (plain JSON: GSM8K's answer, a character's name), handed to the reward functions.
 */
export interface StoredPromptExample {
  prompt: string | StoredChatMessage[];
  fields: Record<string, unknown>;
}

interface DatasetRecordBase {
  id: string;
  name: string;
  /** The file it was imported from ("pasted text" for a paste). */
  source: string;
  createdAt: string;
  /** The engine's format name at import. */
  format: string;
  /** The first lines the user chose to skip at import, by line (at most KEPT_SKIPPED_LINES of datasets-store.ts), with why. */
  skipped: StoredRecordError[];
  /** How many lines were skipped at import; absent in records saved before the cap (then `skipped` holds them all). */
  skippedCount?: number;
  /** Held-out fraction and the seed of the split (the split itself is derived, never stored twice). */
  split: { evalFraction: number; seed: number };
}

/** A saved dataset: its normalised examples, each with the line it came from. */
export type DatasetRecord =
  | (DatasetRecordBase & { method: 'sft'; examples: { line: number; example: StoredSftExample }[] })
  | (DatasetRecordBase & {
      method: 'dpo';
      examples: { line: number; example: StoredPreferenceExample }[];
      /** Pairs skipped at import because chosen equals rejected. */
      identical: number;
    })
  | (DatasetRecordBase & { method: 'grpo'; examples: { line: number; example: StoredPromptExample }[] });

/** Replaces a record's examples by their count, variant by variant; the skipped lines are always counted. */
type Summarised<R> = R extends { examples: unknown[] } ? Omit<R, 'examples' | 'skippedCount'> & { examples: number; skippedCount: number } : never;

/** A dataset as lists show it: everything but the examples, which are counted, and the first skipped lines with their count. */
export type DatasetSummaryRecord = Summarised<DatasetRecord>;
