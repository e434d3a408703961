// A run's examples: the saved dataset split as it says (the Data page shows the same split), tokenized
// with the loaded model's tokenizer, and the prompts of the first held-out examples for the sample
// generations shown at each evaluation.

import { tokenizeSftDataset, type TokenizedExample } from '../engine/data/tokenize-sft';
import type { SftRecord } from '../engine/data/sft-examples';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import type { DatasetRecord, RunSettings } from '../storage/records';
import { engineFormat, sftDatasetRecord, type SftDatasetRecord } from './dataset-records';
import { splitDataset } from './dataset-split';

/** Held-out prompts generated from at each evaluation. */
export const SAMPLE_PROMPTS = 2;

export interface RunData {
  train: TokenizedExample[];
  eval: TokenizedExample[];
  /** Prompt token ids of the first held-out examples. */
  samplePrompts: number[][];
}

/** The prompt part of an example (its tokens before the first trained one), at least one token. */
export function promptOf(e: TokenizedExample): number[] {
  const first = e.trainMask.findIndex((m, i) => m === 1 && i > 0);
  return e.inputIds.slice(0, first < 0 ? 1 : Math.max(1, first));
}

function tokenize(record: SftDatasetRecord, examples: SftRecord[], tokenizer: ModelTokenizer, settings: Pick<RunSettings, 'maxLength' | 'completionOnly'>) {
  const dataset = { file: record.name, format: engineFormat(record), examples, errors: [] };
  return tokenizeSftDataset(dataset, tokenizer, { maxLength: settings.maxLength, completionOnly: settings.completionOnly });
}

export function prepareRunData(saved: DatasetRecord, tokenizer: ModelTokenizer, settings: Pick<RunSettings, 'maxLength' | 'completionOnly'>): RunData {
  const record = sftDatasetRecord(saved);
  const split = splitDataset(record);
  const train = tokenize(record, split.train, tokenizer, settings);
  if (train.examples.length === 0) {
    const first = train.errors[0];
    const why = first ? ` (line ${first.line}: ${first.message})` : '';
    throw new Error(`The dataset "${record.name}" has no usable training example for this model${why}.`);
  }
  const evalSet = tokenize(record, split.eval, tokenizer, settings).examples;
  return { train: train.examples, eval: evalSet, samplePrompts: evalSet.slice(0, SAMPLE_PROMPTS).map(promptOf) };
}
