// Dataset files read (SFT examples, preference pairs or GRPO prompts) but not saved yet, kept in the worker by id until the
// page saves or replaces them (the latest few, as KeptDrafts keeps them).

import { methodsForFormat } from '../engine/data/formats';
import type { MethodDataset } from './dataset-records';
import { KeptDrafts } from './kept-drafts';
import type { DatasetDraft } from './protocol-datasets';

export interface StoredDraft {
  source: string;
  imported: MethodDataset;
}

export class DraftStore {
  private readonly drafts = new KeptDrafts<StoredDraft>();

  add(source: string, imported: MethodDataset): DatasetDraft {
    const draftId = this.drafts.add({ source, imported });
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
    return this.drafts.get(draftId);
  }

  delete(draftId: string): void {
    this.drafts.delete(draftId);
  }
}
