// Importing a dataset: the file (picked, dropped, pasted or a sample) read by the worker into a draft (SFT
// examples, preference pairs or GRPO prompts), its format, the methods it fits and its per-line errors, then a name and a
// train/eval split before it is saved.

import type { StudioClient } from '../worker/client';
import { evalCount, splitProblem } from '../worker/dataset-split';
import type { DatasetDraft, DatasetSummary } from '../worker/protocol-datasets';
import { errorMessage } from './errors';

/** One of the project's own sample tasks for stories260K, served with the studio (public/datasets/<id>/). */
export interface SampleDataset {
  id: 'stories-setting' | 'stories-preference' | 'stories-grpo';
  /** What the task teaches, in one line. */
  explanation: string;
}

export const SAMPLE_DATASETS: readonly SampleDataset[] = [
  {
    id: 'stories-setting',
    explanation: 'SFT: a prompt names a setting ("Setting: a foggy farm."), the completion is a story that opens there.',
  },
  {
    id: 'stories-preference',
    explanation: 'DPO, SimPO or ORPO: prefer the story that opens in the setting the prompt names over one that opens somewhere else.',
  },
  {
    id: 'stories-grpo',
    explanation:
      'GRPO: prompts only ("This is a story about Sue the cat. Once upon a time,"), each with the name and animal for the rewards; the reward "contains {name}" scores a story that names its character.',
  },
];

export const sampleUrl = (sample: SampleDataset) => `${import.meta.env.BASE_URL}datasets/${sample.id}/train.jsonl`;
export const PASTED_SOURCE = 'pasted text';

/** "train.jsonl" -> "train". */
function nameFromSource(source: string): string {
  return source.replace(/\.[a-z]+$/i, '');
}

export class DataImportState {
  /** What is being read now, or null. */
  reading = $state<string | null>(null);
  draft = $state.raw<DatasetDraft | null>(null);
  /** Why the last read failed. */
  error = $state<string | null>(null);
  /** Why the draft could not be saved (it stays, to try again). */
  saveError = $state<string | null>(null);
  pasted = $state('');

  name = $state('');
  evalFraction = $state(0.1);
  seed = $state(0);
  saving = $state(false);

  readonly split = $derived.by(() => {
    const examples = this.draft?.examples ?? 0;
    const held = evalCount(examples, this.evalFraction);
    return { train: examples - held, eval: held };
  });

  private readId = 0;

  constructor(
    private readonly client: StudioClient,
    private readonly onSaved: (summary: DatasetSummary) => void,
  ) {}

  readFile(file: File, suggestedName = nameFromSource(file.name)): Promise<void> {
    return this.read(file.name, suggestedName, () => this.client.call((api) => api.readDataset({ file })));
  }

  readPasted(): Promise<void> {
    const text = this.pasted;
    return this.read(PASTED_SOURCE, 'pasted dataset', () => this.client.call((api) => api.readDataset({ text, name: PASTED_SOURCE })));
  }

  /** Fetches a sample dataset served with the studio into a draft. */
  loadSample(sample: SampleDataset): Promise<void> {
    const url = sampleUrl(sample);
    return this.read(url, `${sample.id} (sample)`, async () => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`The sample dataset could not be fetched from ${url} (HTTP ${response.status}).`);
      const file = new File([await response.blob()], `${sample.id}-train.jsonl`);
      return this.client.call((api) => api.readDataset({ file }));
    });
  }

  /** What keeps the draft from being saved, or null. */
  problem(): string | null {
    if (!this.draft) return 'Import a file first.';
    if (!this.name.trim()) return 'Give the dataset a name.';
    return splitProblem({ evalFraction: this.evalFraction, seed: this.seed }, this.draft.examples);
  }

  /** Saves the draft (its bad lines skipped). */
  async save(): Promise<void> {
    const draft = this.draft;
    if (!draft || this.saving) return;
    const problem = this.problem();
    if (problem) {
      this.saveError = problem;
      return;
    }
    this.saving = true;
    this.saveError = null;
    try {
      const summary = await this.client.call((api) =>
        api.saveDataset(draft.draftId, this.name, { evalFraction: this.evalFraction, seed: this.seed }),
      );
      if (this.draft === draft) this.draft = null;
      this.onSaved(summary);
    } catch (err) {
      this.saveError = errorMessage(err);
    } finally {
      this.saving = false;
    }
  }

  discard(): void {
    this.readId++;
    this.reading = null;
    this.draft = null;
    this.error = null;
    this.saveError = null;
  }

  /** A newer read replaces an older one; a failed read leaves no draft and says why. */
  private async read(label: string, suggestedName: string, read: () => Promise<DatasetDraft>): Promise<void> {
    const readId = ++this.readId;
    this.reading = label;
    this.draft = null;
    this.error = null;
    this.saveError = null;
    try {
      const draft = await read();
      if (readId !== this.readId) return;
      this.draft = draft;
      this.name = suggestedName;
    } catch (err) {
      if (readId === this.readId) this.error = errorMessage(err);
    } finally {
      if (readId === this.readId) this.reading = null;
    }
  }
}
