// Dataset files for `tunelab train` / `tunelab eval`: read, detect the format, normalise, tokenize; bad
// lines are reported on stderr with their line numbers and skipped, a file with nothing usable is an error.

import { readFile } from 'node:fs/promises';
import { detectFormat } from '../engine/data/detect';
import { parseRecords } from '../engine/data/read-records';
import { toSftDataset, type SftDataset } from '../engine/data/sft-examples';
import { tokenizeSftDataset, type TokenizedDataset, type TokenizedExample } from '../engine/data/tokenize-sft';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import { evalCount, splitItems } from '../engine/data/split';
import type { Progress } from './progress';

const SHOWN_ERRORS = 5;

export interface LoadedData {
  dataset: SftDataset;
  tokenized: TokenizedDataset;
}

export async function readSftFile(file: string): Promise<SftDataset> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new Error(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return toSftDataset(detectFormat(parseRecords(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file), 'sft'));
}

export async function loadSftData(
  file: string,
  tokenizer: ModelTokenizer,
  options: { maxLength: number; completionOnly: boolean },
  progress: Progress,
): Promise<LoadedData> {
  const dataset = await readSftFile(file);
  const tokenized = tokenizeSftDataset(dataset, tokenizer, options);
  const errors = [...dataset.errors, ...tokenized.errors].sort((a, b) => a.line - b.line);
  if (errors.length > 0) {
    const shown = errors.slice(0, SHOWN_ERRORS).map((e) => `line ${e.line}: ${e.message}`);
    const more = errors.length > SHOWN_ERRORS ? `; and ${errors.length - SHOWN_ERRORS} more` : '';
    progress.line(`${file}: skipped ${errors.length} record${errors.length === 1 ? '' : 's'}: ${shown.join('; ')}${more}`);
  }
  if (tokenized.examples.length === 0) throw new Error(`${file}: no usable ${dataset.format} records (${errors.length} skipped)`);
  const notes = [
    tokenized.truncated ? `${tokenized.truncated} truncated to ${options.maxLength} tokens` : '',
    tokenized.boundaryMismatches ? `${tokenized.boundaryMismatches} with a prompt/completion token boundary mismatch` : '',
  ].filter(Boolean);
  progress.line(`${file}: ${tokenized.examples.length} ${dataset.format} examples${notes.length ? ` (${notes.join(', ')})` : ''}`);
  return { dataset, tokenized };
}

/** A seeded split: `fraction` of the examples (at least one) held out for evaluation, as the studio splits. */
export function splitExamples(examples: readonly TokenizedExample[], fraction: number, seed: number): { train: TokenizedExample[]; eval: TokenizedExample[] } {
  if (evalCount(examples.length, fraction) >= examples.length) throw new Error(`--eval-split ${fraction} leaves no training examples out of ${examples.length}`);
  return splitItems(examples, { evalFraction: fraction, seed });
}
