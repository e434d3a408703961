// How many items of an attached eval suite a run may score at each evaluation: checked by the Train page's
// form and again by the worker before the run is stored. No engine imports, so the page can read it cheaply.

import type { StoredRunEvalSuite } from '../storage/records';

export const MAX_RUN_SUITE_ITEMS = 1000;

/** The first problem of a run's attachments (a suite twice, a limit out of range), or null. */
export function runSuitesProblem(attached: readonly StoredRunEvalSuite[]): string | null {
  const ids = new Set<string>();
  for (const a of attached) {
    if (ids.has(a.id)) return `The eval suite "${a.name}" is attached twice.`;
    ids.add(a.id);
    if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > MAX_RUN_SUITE_ITEMS) {
      return `Items per evaluation of the suite "${a.name}" must be a whole number from 1 to ${MAX_RUN_SUITE_ITEMS}.`;
    }
  }
  return null;
}
