// Files read but not saved yet, kept in the worker by id until the page saves or replaces them. Only the
// latest few are kept: a draft can hold a whole 32 MB dataset.

import type { SftDataset } from '../engine/data/sft-examples';
import type { DatasetDraft } from './protocol-datasets';

const KEPT_DRAFTS = 3;

export interface StoredDraft {
  source: string;
  dataset: SftDataset;
}

export class DraftStore {
  private readonly drafts = new Map<string, StoredDraft>();

  add(source: string, dataset: SftDataset): DatasetDraft {
    const draftId = crypto.randomUUID();
    this.drafts.set(draftId, { source, dataset });
    // Maps iterate in insertion order: the first keys are the oldest drafts.
    for (const old of [...this.drafts.keys()].slice(0, -KEPT_DRAFTS)) this.drafts.delete(old);
    return { draftId, source, format: dataset.format, examples: dataset.examples.length, errors: dataset.errors };
  }

  get(draftId: string): StoredDraft {
    const draft = this.drafts.get(draftId);
    if (!draft) throw new Error('This import is no longer held by the studio (a newer file replaced it, or the page was reloaded): read the file again.');
    return draft;
  }

  delete(draftId: string): void {
    this.drafts.delete(draftId);
  }
}
