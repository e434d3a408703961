// Which saved datasets a training method reads, and why a dataset does not fit one: SFT reads SFT examples,
// DPO, SimPO and ORPO read preference pairs. The worker refuses a run with this message before anything is
// stored; the Train page shows the same reason beside a dataset it cannot offer.

import { FORMAT_DESCRIPTIONS, METHOD_FORMATS, METHOD_NAMES, type DatasetFormat } from '../engine/data/formats';
import type { DatasetMethod, StoredTrainingMethod } from '../storage/records';

/** How the studio names each method. */
export const METHOD_LABELS: Record<StoredTrainingMethod, string> = { sft: 'SFT', dpo: 'DPO', simpo: 'SimPO', orpo: 'ORPO' };

/** The kind of dataset a method trains on. */
export function datasetMethodOf(method: StoredTrainingMethod): DatasetMethod {
  return method === 'sft' ? 'sft' : 'dpo';
}

const describeFormat = (format: string) => FORMAT_DESCRIPTIONS[format as DatasetFormat] ?? `${format} (a format this version does not know)`;
const formatName = (format: DatasetFormat) => FORMAT_DESCRIPTIONS[format].split(' (')[0];

function oneOf(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** Why `method` cannot train on `dataset`, naming the dataset, its format and what the method needs; null when it can. */
export function datasetMismatch(dataset: { name: string; method: DatasetMethod; format: string }, method: StoredTrainingMethod): string | null {
  const needed = datasetMethodOf(method);
  if (dataset.method === needed) return null;
  const format = describeFormat(dataset.format);
  const article = /^[aeiou]/i.test(format) ? 'an' : 'a';
  const needs = oneOf(METHOD_FORMATS[needed].map(formatName));
  return `The dataset "${dataset.name}" is ${article} ${format} dataset; ${METHOD_LABELS[method]} needs ${needs} records. This dataset fits ${METHOD_NAMES[dataset.method]}.`;
}
