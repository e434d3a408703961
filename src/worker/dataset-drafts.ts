// Files read (SFT examples or preference pairs) but not saved yet, kept in the worker by id until the page
// saves or replaces them. Only the latest few are kept: a draft can hold a whole 32 MB dataset.

import { methodsForFormat } from '../engine/data/formats';
import type { MethodDataset } from './dataset-records';
import type { DatasetDraft } from './protocol-datasets';

const KEPT_DRAFTS = 3;

export interface StoredDraft {
  source: string;
  imported: MethodDataset;
}

export class DraftStore {
  private readonly drafts = new Map<string, StoredDraft>();

  add(source: string, imported: MethodDataset): DatasetDraft {
    const draftId = crypto.randomUUID();
    this.drafts.set(draftId, { source, imported });
    // Maps iterate in insertion order: the first keys are the oldest drafts.
    for (const old of [...this.drafts.keys()].slice(0, -KEPT_DRAFTS)) this.drafts.delete(old);
    const { format, examples, errors } = imported.dataset;
    return {
      draftId,
      source,
      format,
      method: imported.method,
      methods: methodsForFormat(format),
      examples: examples.length,
      errors,
      identical: imported.method === 'dpo' ? imported.dataset.identical : 0,
    };
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
