// Which saved datasets a training method reads, and why a dataset does not fit one: SFT reads SFT examples,
// DPO, SimPO and ORPO read preference pairs, GRPO reads prompts (a dataset whose format has a prompt column:
// prompt-only, prompt-completion or question-answer; TRL's GRPOTrainer hands the other fields to the reward
// functions). The worker refuses a run with this message before anything is stored; the Train page shows
// the same reason beside a dataset it cannot offer.

import { FORMAT_DESCRIPTIONS, METHOD_FORMATS, METHOD_NAMES, type DatasetFormat, type TrainingMethod } from '../engine/data/formats';
import type { DatasetMethod, StoredTrainingMethod } from '../storage/records';

/** How the studio names each method. */
export const METHOD_LABELS: Record<StoredTrainingMethod, string> = { sft: 'SFT', dpo: 'DPO', simpo: 'SimPO', orpo: 'ORPO', grpo: 'GRPO' };

/** The engine's family of a method (DPO, SimPO and ORPO read the same data). */
function familyOf(method: StoredTrainingMethod): TrainingMethod {
  return method === 'sft' || method === 'grpo' ? method : 'dpo';
}

const describeFormat = (format: string) => FORMAT_DESCRIPTIONS[format as DatasetFormat] ?? `${format} (a format this version does not know)`;
const formatName = (format: DatasetFormat) => FORMAT_DESCRIPTIONS[format].split(' (')[0];

function oneOf(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** Whether `method` reads a dataset saved as `dataset` (GRPO: by its format, whichever family stored it). */
function fits(dataset: { method: DatasetMethod; format: string }, method: StoredTrainingMethod): boolean {
  const family = familyOf(method);
  if (family === 'grpo') return (METHOD_FORMATS.grpo as readonly string[]).includes(dataset.format);
  return dataset.method === family;
}

/** The families that read a dataset ("SFT and GRPO" for prompt-completion data). */
export function familiesOf(dataset: { method: DatasetMethod; format: string }): string {
  const families = (['sft', 'dpo', 'grpo'] as const).filter((family) => fits(dataset, family));
  return families.length > 0 ? families.map((f) => METHOD_NAMES[f]).join(' and ') : METHOD_NAMES[dataset.method];
}

/** Why `method` cannot train on `dataset`, naming the dataset, its format and what the method needs; null when it can. */
export function datasetMismatch(dataset: { name: string; method: DatasetMethod; format: string }, method: StoredTrainingMethod): string | null {
  if (fits(dataset, method)) return null;
  const format = describeFormat(dataset.format);
  const article = /^[aeiou]/i.test(format) ? 'an' : 'a';
  const needs = oneOf(METHOD_FORMATS[familyOf(method)].map(formatName));
  return `The dataset "${dataset.name}" is ${article} ${format} dataset; ${METHOD_LABELS[method]} needs ${needs} records. This dataset fits ${familiesOf(dataset)}.`;
}
