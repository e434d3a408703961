// Dataset files for `tunelab train` / `tunelab eval`: read, detect the format, normalise, tokenize, for SFT
// examples or preference pairs; bad lines are reported on stderr with their line numbers and skipped, a file
// with nothing usable (or of the wrong family for the method) is an error naming what is missing.

import { readFile } from 'node:fs/promises';
import { detectFormat } from '../engine/data/detect';
import { toPreferenceDataset, type PreferenceDataset } from '../engine/data/preference-examples';
import { ErrorTally, type LineErrors } from '../engine/data/line-errors';
import { parseRecords, type RecordError } from '../engine/data/read-records';
import { toSftDataset, type SftDataset } from '../engine/data/sft-examples';
import { evalCount, splitItems } from '../engine/data/split';
import { tokenizePreferenceDataset, type TokenizedPair } from '../engine/data/tokenize-preference';
import { tokenizeSftDataset, type TokenizedDataset, type TokenizedExample } from '../engine/data/tokenize-sft';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import type { Progress } from './progress';

const SHOWN_ERRORS = 5;

export interface LoadedData {
  dataset: SftDataset;
  tokenized: TokenizedDataset;
}

export interface LoadedPairs {
  dataset: PreferenceDataset;
  pairs: TokenizedPair[];
  /** Pairs cut to the maximum length, and prompts cut to the maximum prompt length. */
  truncated: number;
  promptTruncated: number;
}

export async function readBytes(file: string): Promise<Uint8Array> {
  try {
    const bytes = await readFile(file);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    throw new Error(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

export async function readSftFile(file: string): Promise<SftDataset> {
  return toSftDataset(detectFormat(parseRecords(await readBytes(file), file), 'sft'));
}

export async function readPreferenceFile(file: string): Promise<PreferenceDataset> {
  return toPreferenceDataset(detectFormat(parseRecords(await readBytes(file), file), 'dpo'));
}

/** The lines the read skipped and those the tokenizer skipped: the first by line, and how many in all. */
export function skippedLines(read: LineErrors, tokenized: readonly RecordError[]): LineErrors {
  const tally = new ErrorTally(read);
  for (const e of tokenized) tally.add(e);
  return tally.result();
}

/** One stderr line listing the skipped records (the first few, with their line numbers) and their count. */
export function reportSkipped(file: string, skipped: LineErrors, progress: Progress): void {
  const count = skipped.errorCount;
  if (count === 0) return;
  const shown = skipped.errors.slice(0, SHOWN_ERRORS).map((e) => `line ${e.line}: ${e.message}`);
  const more = count > shown.length ? `; and ${count - shown.length} more` : '';
  progress.line(`${file}: skipped ${count} record${count === 1 ? '' : 's'}: ${shown.join('; ')}${more}`);
}

function notes(parts: [number, string][]): string {
  const text = parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  return text.length ? ` (${text.join(', ')})` : '';
}

export async function loadSftData(
  file: string,
  tokenizer: ModelTokenizer,
  options: { maxLength: number; completionOnly: boolean },
  progress: Progress,
): Promise<LoadedData> {
  const dataset = await readSftFile(file);
  const tokenized = tokenizeSftDataset(dataset, tokenizer, options);
  const skipped = skippedLines(dataset, tokenized.errors);
  reportSkipped(file, skipped, progress);
  if (tokenized.examples.length === 0) throw new Error(`${file}: no usable ${dataset.format} records (${skipped.errorCount} skipped)`);
  const note = notes([
    [tokenized.truncated, `truncated to ${options.maxLength} tokens`],
    [tokenized.boundaryMismatches, 'with a prompt/completion token boundary mismatch'],
  ]);
  progress.line(`${file}: ${tokenized.examples.length} ${dataset.format} examples${note}`);
  return { dataset, tokenized };
}

export async function loadPreferenceData(
  file: string,
  tokenizer: ModelTokenizer,
  options: { maxLength: number; maxPromptLength: number },
  progress: Progress,
): Promise<LoadedPairs> {
  const dataset = await readPreferenceFile(file);
  const tokenized = tokenizePreferenceDataset(dataset, tokenizer, options);
  const skipped = skippedLines(dataset, tokenized.errors);
  reportSkipped(file, skipped, progress);
  const identical = dataset.identical + tokenized.identical;
  if (tokenized.pairs.length === 0) throw new Error(`${file}: no usable ${dataset.format} pairs (${skipped.errorCount} skipped, ${identical} with chosen equal to rejected)`);
  const note = notes([
    [identical, 'skipped because chosen equals rejected'],
    [tokenized.promptTruncated, `prompts cut to their last ${options.maxPromptLength} tokens`],
    [tokenized.truncated, `pairs cut to ${options.maxLength} tokens`],
    [tokenized.boundaryMismatches, 'with a prompt/answer token boundary mismatch'],
  ]);
  progress.line(`${file}: ${tokenized.pairs.length} ${dataset.format} pairs${note}`);
  return { dataset, pairs: tokenized.pairs, truncated: tokenized.truncated, promptTruncated: tokenized.promptTruncated };
}

/** A seeded split: `fraction` of the examples (at least one) held out for evaluation, as the studio splits. */
export function splitExamples<T>(examples: readonly T[], fraction: number, seed: number): { train: T[]; eval: T[] } {
  if (evalCount(examples.length, fraction) >= examples.length) throw new Error(`--eval-split ${fraction} leaves no training examples out of ${examples.length}`);
  return splitItems(examples, { evalFraction: fraction, seed });
}

export type { TokenizedExample };
