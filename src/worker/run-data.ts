// A run's data: the method's objective, and the saved dataset split as the run's settings say (the split
// the dataset had when the run started, kept for its resumes) and tokenized for that method with the loaded model's tokenizer: SFT examples, or preference
// pairs (DPO, SimPO, ORPO) truncated to the run's max length and max prompt length as TRL truncates them.
// A method that does not fit the dataset is refused here, before the run is stored. The prompts of the
// first held-out examples are what the sample generations at each evaluation start from. GRPO's prompts
// are read by run-grpo-data.ts; prepareMethodData gives either.

import { DEFAULT_MAX_PROMPT_LENGTH, tokenizePreferenceDataset, type TokenizedPair } from '../engine/data/tokenize-preference';
import type { RecordError } from '../engine/data/read-records';
import { tokenizeSftDataset, type TokenizedExample } from '../engine/data/tokenize-sft';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import type { TrainingObjective } from '../engine/train/objective';
import { makeObjective } from '../engine/train/objectives/make-objective';
import type { PreferenceConfig } from '../engine/train/objectives/preference-config';
import { PreferenceObjective } from '../engine/train/objectives/preference-objective';
import { SftObjective } from '../engine/train/objectives/sft-objective';
import type { DatasetRecord, RunSettings, StoredPreferenceSettings } from '../storage/records';
import { engineDataset, type MethodDataset } from './dataset-records';
import { runSplit, splitDataset } from './dataset-split';
import { prepareGrpoData, type GrpoRunData } from './run-grpo-data';
import { datasetMismatch } from './run-method';

/** Held-out prompts generated from at each evaluation. */
export const SAMPLE_PROMPTS = 2;

export interface RunData<E = unknown> {
  objective: TrainingObjective<E>;
  train: readonly E[];
  eval: readonly E[];
  /** Prompt token ids of the first held-out examples. */
  samplePrompts: number[][];
}

export type RunDataSettings = Pick<RunSettings, 'method' | 'maxLength' | 'completionOnly' | 'preference' | 'grpo' | 'split'> & {
  loop?: Pick<RunSettings['loop'], 'batchSize' | 'gradAccum'>;
};

/** What a run trains on: a dataset objective's examples, or GRPO's prompts. */
export type MethodRunData = RunData | GrpoRunData;

export function isGrpoData(data: MethodRunData): data is GrpoRunData {
  return 'kind' in data && data.kind === 'grpo';
}

type Saved<M extends DatasetRecord['method']> = Extract<DatasetRecord, { method: M }>;

/** The objective's part of a DPO-family run's stored settings (none: TRL's defaults). */
export function objectiveSettings(p: StoredPreferenceSettings | undefined): Partial<Omit<PreferenceConfig, 'method'>> {
  if (!p) return {};
  return { beta: p.beta, lossType: p.lossType, labelSmoothing: p.labelSmoothing, simpoGamma: p.simpoGamma, orpoLambda: p.orpoLambda };
}

/** The training split's usable items, or an error naming the dataset and its first bad line (or `otherwise`). */
function usable<E>(name: string, items: E[], errors: readonly RecordError[], otherwise?: string): E[] {
  if (items.length > 0) return items;
  const first = errors[0] ? `line ${errors[0].line}: ${errors[0].message}` : otherwise;
  throw new Error(`The dataset "${name}" has no usable training example for this model${first ? ` (${first})` : ''}.`);
}

/** The engine's dataset of a (split) record of each family. */
function sftDataset(record: Saved<'sft'>) {
  return (engineDataset(record) as Extract<MethodDataset, { method: 'sft' }>).dataset;
}
function preferenceDataset(record: Saved<'dpo'>) {
  return (engineDataset(record) as Extract<MethodDataset, { method: 'dpo' }>).dataset;
}

function withSamples<E>(objective: TrainingObjective<E>, train: E[], evalSet: E[]): RunData<E> {
  return { objective, train, eval: evalSet, samplePrompts: evalSet.slice(0, SAMPLE_PROMPTS).map((e) => objective.promptOf(e)) };
}

function sftData(record: Saved<'sft'>, objective: SftObjective, tokenizer: ModelTokenizer, settings: RunDataSettings): RunData<TokenizedExample> {
  const split = splitDataset({ examples: record.examples, split: runSplit(settings, record) });
  const options = { maxLength: settings.maxLength, completionOnly: settings.completionOnly };
  const tokenize = (examples: Saved<'sft'>['examples']) => tokenizeSftDataset(sftDataset({ ...record, examples }), tokenizer, options);
  const train = tokenize(split.train);
  return withSamples(objective, usable(record.name, train.examples, train.errors), tokenize(split.eval).examples);
}

function preferenceData(record: Saved<'dpo'>, objective: PreferenceObjective, tokenizer: ModelTokenizer, settings: RunDataSettings): RunData<TokenizedPair> {
  const split = splitDataset({ examples: record.examples, split: runSplit(settings, record) });
  const options = { maxLength: settings.maxLength, maxPromptLength: settings.preference?.maxPromptLength ?? DEFAULT_MAX_PROMPT_LENGTH };
  const tokenize = (examples: Saved<'dpo'>['examples']) => tokenizePreferenceDataset(preferenceDataset({ ...record, examples }), tokenizer, options);
  const train = tokenize(split.train);
  const same = `${train.identical} pairs have the same chosen and rejected tokens within the maximum length of ${settings.maxLength} tokens`;
  return withSamples(objective, usable(record.name, train.pairs, train.errors, train.identical > 0 ? same : undefined), tokenize(split.eval).pairs);
}

/** The data of a run of any method (refused, naming the dataset, when the method does not fit it). */
export function prepareMethodData(saved: DatasetRecord, tokenizer: ModelTokenizer, settings: RunDataSettings): MethodRunData {
  return settings.method === 'grpo' ? prepareGrpoData(saved, tokenizer, settings) : prepareRunData(saved, tokenizer, settings);
}

/** The data of an SFT or preference run. */
export function prepareRunData(saved: DatasetRecord, tokenizer: ModelTokenizer, settings: RunDataSettings): RunData {
  const mismatch = datasetMismatch(saved, settings.method);
  if (mismatch) throw new Error(mismatch);
  if (settings.method === 'grpo') throw new Error('GRPO samples its completions: read its prompts with prepareMethodData.');
  const objective = makeObjective(settings.method, objectiveSettings(settings.preference));
  if (objective instanceof SftObjective && saved.method === 'sft') return sftData(saved, objective, tokenizer, settings);
  if (objective instanceof PreferenceObjective && saved.method === 'dpo') return preferenceData(saved, objective, tokenizer, settings);
  throw new Error(`The dataset "${saved.name}" cannot train ${settings.method}.`);
}
