// Pre-tokenized examples hold the ids of whatever tokenizer made them; a model reads ids below its vocabulary
// size (config.json's vocab_size) only. The studio imports a dataset before any model is chosen, so the ids
// are checked when the dataset meets a model: when it is tokenized for a run (or an evaluation, or the
// preview), before any training step. The first id out of range refuses the whole dataset: a file tokenized
// for another model would train garbage on every line, not only on the lines that happen to overflow.

import type { PreferenceDataset } from './preference-examples';
import type { SftDataset } from './sft-examples';

/** A token id of a pre-tokenized dataset that the model's vocabulary does not have. */
export class TokenIdRangeError extends Error {
  override readonly name = 'TokenIdRangeError';
  /** The message without the file and line (the preview shows the line beside it). */
  readonly detail: string;

  constructor(
    readonly file: string,
    readonly line: number,
    /** The field as the engine reads it: "input_ids", or a pair's "prompt ids", "chosen ids", "rejected ids". */
    readonly field: string,
    readonly position: number,
    readonly id: number,
    readonly vocabSize: number,
  ) {
    const detail =
      `${field}[${position}] is token id ${id}, beyond the vocabulary of this model (${vocabSize} ids, 0 to ${vocabSize - 1}): ` +
      'pre-tokenized data must be tokenized with the tokenizer of the model it trains';
    super(`${file}: line ${line}: ${detail}`);
    this.detail = detail;
  }
}

function checkIds(file: string, line: number, field: string, ids: readonly number[], vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] >= vocabSize) throw new TokenIdRangeError(file, line, field, i, ids[i], vocabSize);
  }
}

/** Refuses an SFT dataset whose pre-tokenized examples hold an id of `vocabSize` or more, naming the first. */
export function checkSftTokenIds(dataset: Pick<SftDataset, 'file' | 'examples'>, vocabSize: number): void {
  for (const { line, example } of dataset.examples) {
    if (example.kind === 'tokens') checkIds(dataset.file, line, 'input_ids', example.inputIds, vocabSize);
  }
}

/** Refuses a preference dataset whose pre-tokenized pairs hold an id of `vocabSize` or more, naming the first. */
export function checkPairTokenIds(dataset: Pick<PreferenceDataset, 'file' | 'examples'>, vocabSize: number): void {
  for (const { line, example } of dataset.examples) {
    if (example.kind !== 'tokens') continue;
    for (const part of ['prompt', 'chosen', 'rejected'] as const) checkIds(dataset.file, line, `${part} ids`, example[part], vocabSize);
  }
}
