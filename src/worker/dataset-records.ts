// Saved datasets (storage's schema v3 records) read back as the engine's types. Storage keeps the format as
// a plain name and holds SFT examples or preference pairs: the worker checks both before the engine sees them.

import { FORMAT_DESCRIPTIONS, type DatasetFormat } from '../engine/data/formats';
import type { DatasetRecord } from '../storage/records';

export type SftDatasetRecord = Extract<DatasetRecord, { method: 'sft' }>;

/** The engine's format of a saved dataset; a name this version does not know is refused, naming the dataset. */
export function engineFormat(record: DatasetRecord): DatasetFormat {
  if (!Object.hasOwn(FORMAT_DESCRIPTIONS, record.format)) {
    throw new Error(`The dataset "${record.name}" was saved as ${record.format} data, which this version of Tunelab cannot read.`);
  }
  return record.format as DatasetFormat;
}

/** A saved dataset of SFT examples; one of preference pairs is refused, naming it. */
export function sftDatasetRecord(record: DatasetRecord): SftDatasetRecord {
  if (record.method !== 'sft') throw new Error(`The dataset "${record.name}" holds preference pairs, not SFT examples.`);
  return record;
}
