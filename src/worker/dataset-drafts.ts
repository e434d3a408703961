// Dataset files read (SFT examples, preference pairs or GRPO prompts) but not saved yet, kept in the worker by id until the
// page saves or replaces them (the latest few, as KeptDrafts keeps them).

import { methodsForFormat } from '../engine/data/formats';
import type { PromptRecord } from '../engine/data/prompt-examples';
import type { MethodDataset } from './dataset-records';
import { KeptDrafts } from './kept-drafts';
import type { DatasetDraft } from './protocol-datasets';

export interface StoredDraft {
  source: string;
  imported: MethodDataset;
}

/** Every field name the prompts carry besides the prompt, in the order first seen. */
function rewardFields(examples: readonly PromptRecord[]): string[] {
  const names = new Set<string>();
  for (const { fields } of examples) for (const name of Object.keys(fields)) names.add(name);
  return [...names];
}

export class DraftStore {
  private readonly drafts = new KeptDrafts<StoredDraft>();

  add(source: string, imported: MethodDataset): DatasetDraft {
    const draftId = this.drafts.add({ source, imported });
    const { format, examples, errors, errorCount } = imported.dataset;
    return {
      draftId,
      source,
      format,
      method: imported.method,
      methods: methodsForFormat(format),
      examples: examples.length,
      errors,
      errorCount,
      identical: imported.method === 'dpo' ? imported.dataset.identical : 0,
      rewardFields: imported.method === 'grpo' ? rewardFields(imported.dataset.examples) : [],
    };
  }

  get(draftId: string): StoredDraft {
    return this.drafts.get(draftId);
  }

  delete(draftId: string): void {
    this.drafts.delete(draftId);
  }
}
