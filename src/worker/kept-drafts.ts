// Files read but not saved yet, kept in the worker by id until the page saves or replaces them. Only the
// latest few are kept: a draft can hold a whole 32 MB file's contents.

const KEPT_DRAFTS = 3;

export class KeptDrafts<T> {
  private readonly drafts = new Map<string, T>();

  /** Keeps a draft under a new id, dropping the oldest beyond the last few. */
  add(draft: T): string {
    const draftId = crypto.randomUUID();
    this.drafts.set(draftId, draft);
    // Maps iterate in insertion order: the first keys are the oldest drafts.
    for (const old of [...this.drafts.keys()].slice(0, -KEPT_DRAFTS)) this.drafts.delete(old);
    return draftId;
  }

  get(draftId: string): T {
    const draft = this.drafts.get(draftId);
    if (draft === undefined) throw new Error('This import is no longer held by the studio (a newer file replaced it, or the page was reloaded): read the file again.');
    return draft;
  }

  delete(draftId: string): void {
    this.drafts.delete(draftId);
  }
}
