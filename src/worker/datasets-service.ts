// The Data page's worker side: files read into drafts (SFT examples, preference pairs or GRPO prompts, kept
// here, not saved), drafts saved to IndexedDB with their split, the saved datasets listed, renamed, re-split
// (refused while a run that reads the dataset's split may resume: dataset-split.ts) and deleted, and
// examples, pairs or prompts rendered with the loaded model's tokenizer.

import { DatasetFileError } from '../engine/data/read-records';
import { missingTokenizerError } from '../engine/model/tokenizer';
import { datasetSummary, deleteDataset, getDataset, listDatasetSummaries, putDataset, updateDataset } from '../storage/datasets-store';
import type { DatasetRecord } from '../storage/records';
import { allRuns } from '../storage/runs-store';
import { previewRecords } from './dataset-preview';
import { PREVIEW_MAX_PROMPT_LENGTH, previewPairs } from './dataset-preview-pairs';
import { previewPrompts } from './dataset-preview-prompts';
import { datasetRecord, engineDataset } from './dataset-records';
import { checkDatasetSize, readDatasetFile } from './dataset-read';
import { splitChangeProblem, splitProblem } from './dataset-split';
import { DraftStore } from './dataset-drafts';
import type { DatasetsApi } from './protocol-datasets';
import type { WorkerDeps } from './worker-deps';

const MAX_NAME_LENGTH = 120;
/** Examples one preview call renders, and the longest rendering. */
const MAX_PREVIEW_COUNT = 20;
const MAX_PREVIEW_LENGTH = 4096;

function datasetName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw new Error('Give the dataset a name.');
  if (trimmed.length > MAX_NAME_LENGTH) throw new Error(`A dataset name can have at most ${MAX_NAME_LENGTH} characters.`);
  return trimmed;
}

function checkSplit(split: DatasetRecord['split'], examples: number): void {
  const problem = splitProblem(split, examples);
  if (problem) throw new Error(problem);
}

async function inputBytes(input: { file: File } | { text: string; name: string }): Promise<{ bytes: Uint8Array; name: string }> {
  if ('file' in input) {
    // A file over the limit is refused from its size, before its bytes are read.
    checkDatasetSize(input.file.name, input.file.size);
    return { bytes: new Uint8Array(await input.file.arrayBuffer()), name: input.file.name };
  }
  if (input.text.trim() === '') throw new DatasetFileError(input.name, 'is empty: paste JSONL, JSON or CSV records first');
  return { bytes: new TextEncoder().encode(input.text), name: input.name };
}

export function createDatasetsService(deps: WorkerDeps): DatasetsApi {
  const drafts = new DraftStore();
  /** The dataset previewed last: paging through it reads it from IndexedDB once. */
  let previewed: DatasetRecord | undefined;

  return {
    async readDataset(input) {
      const { bytes, name } = await inputBytes(input);
      return drafts.add(name, readDatasetFile(bytes, name));
    },

    async saveDataset(draftId, name, split) {
      const draft = drafts.get(draftId);
      checkSplit(split, draft.imported.dataset.examples.length);
      const header = {
        id: crypto.randomUUID(),
        name: datasetName(name),
        source: draft.source,
        createdAt: new Date().toISOString(),
        split: { evalFraction: split.evalFraction, seed: split.seed },
      };
      const record = datasetRecord(header, draft.imported);
      await putDataset(await deps.db(), record);
      drafts.delete(draftId);
      return datasetSummary(record);
    },

    async listDatasets() {
      return listDatasetSummaries(await deps.db());
    },

    async renameDataset(id, name) {
      const newName = datasetName(name);
      const record = await updateDataset(await deps.db(), id, (r) => ({ ...r, name: newName }), `Renaming the dataset to "${newName}"`);
      if (previewed?.id === id) previewed = record;
    },

    async setDatasetSplit(id, split) {
      const db = await deps.db();
      // Only runs saved before runs kept their own split can block the change, and none of those can start now.
      const runs = await allRuns(db);
      const record = await updateDataset(
        db,
        id,
        (r) => {
          checkSplit(split, r.examples.length);
          const problem = splitChangeProblem(r.name, r.id, runs);
          if (problem) throw new Error(problem);
          return { ...r, split: { evalFraction: split.evalFraction, seed: split.seed } };
        },
        'Changing the split',
      );
      if (previewed?.id === id) previewed = record;
      return datasetSummary(record);
    },

    async deleteDataset(id) {
      await deleteDataset(await deps.db(), id);
      if (previewed?.id === id) previewed = undefined;
    },

    async previewDataset(id, start, count, maxLength) {
      const active = deps.models.active;
      if (!active) throw new Error('No model is loaded: load one on the Model page to see how it tokenizes this dataset.');
      if (!active.tokenizer) throw missingTokenizerError(active.info.source);
      if (!Number.isInteger(start) || start < 0) throw new RangeError(`The first example must be a whole number from 0, got ${start}.`);
      if (!Number.isInteger(count) || count < 1 || count > MAX_PREVIEW_COUNT) throw new RangeError(`A preview shows 1 to ${MAX_PREVIEW_COUNT} examples, got ${count}.`);
      if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > MAX_PREVIEW_LENGTH) {
        throw new RangeError(`The maximum length must be a whole number from 2 to ${MAX_PREVIEW_LENGTH}, got ${maxLength}.`);
      }
      if (previewed?.id !== id) previewed = await getDataset(await deps.db(), id);
      const saved = engineDataset(previewed);
      const { format } = saved.dataset;
      const end = start + count;
      if (saved.method === 'sft') return { method: 'sft', examples: previewRecords(saved.dataset.examples.slice(start, end), format, active.tokenizer, maxLength) };
      if (saved.method === 'grpo') return { method: 'grpo', prompts: previewPrompts(saved.dataset.examples.slice(start, end), format, active.tokenizer, maxLength) };
      const pairs = previewPairs(saved.dataset.examples.slice(start, end), format, active.tokenizer, maxLength);
      return { method: 'dpo', pairs, maxPromptLength: PREVIEW_MAX_PROMPT_LENGTH };
    },
  };
}
