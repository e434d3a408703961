// Multiple-choice suites the lm-evaluation-harness way (lm_eval/api/task.py, output_type multiple_choice):
// each choice is a continuation of the item's context, requested as (context, target_delimiter + choice)
// with target_delimiter " "; with k-shot prompting the context starts with k solved examples, each
// doc_to_text + " " + its gold choice + fewshot_delimiter "\n\n" (task.py build_qa_turn, fewshot_context).
//
// Parsers: multiple-choice-shapes.ts (ARC, BoolQ, HF HellaSwag, generic; user JSONL with per-line errors),
// hellaswag.ts (the hellaswag-ppl-800 asset). Metrics: multiple-choice-metrics.ts.

import type { MultipleChoiceDoc, MultipleChoiceItem } from '../suite-types';
import { sampleFewShot } from './few-shot';

export type { MultipleChoiceDoc, MultipleChoiceItem } from '../suite-types';
export { multipleChoiceMetrics, harnessChoiceLength, type MultipleChoiceItemResult, type MultipleChoiceResult } from './multiple-choice-metrics';
export {
  parseMultipleChoiceFile,
  parseMultipleChoiceRecords,
  detectMultipleChoiceShape,
  type MultipleChoiceShape,
  type ParsedMultipleChoice,
  type EvalLineError,
} from './multiple-choice-shapes';
export { parseHellaswagPairs, hellaswagPreprocess } from './hellaswag';

/** The harness's defaults (lm_eval/config/task.py TaskConfig: target_delimiter " ", fewshot_delimiter "\n\n"). */
export const TARGET_DELIMITER = ' ';
export const FEWSHOT_DELIMITER = '\n\n';

export interface FewShotSource {
  shots: number;
  seed: number;
  /**
   * Where examples come from: the set's train split when it has one (ARC). Absent: the evaluated docs
   * themselves, never the item being scored (BoolQ, HellaSwag and user files; see builtin notes).
   */
  pool?: readonly MultipleChoiceDoc[];
}

/** One solved example as the harness renders it: query, delimiter, gold choice, fewshot delimiter. */
export function renderExample(doc: MultipleChoiceDoc): string {
  return doc.query + TARGET_DELIMITER + doc.choices[doc.gold] + FEWSHOT_DELIMITER;
}

function sameDoc(a: MultipleChoiceDoc, b: MultipleChoiceDoc): boolean {
  return a.id === b.id || (a.query === b.query && a.gold === b.gold && a.choices.length === b.choices.length && a.choices.every((c, i) => c === b.choices[i]));
}

/** The item scored for `doc`: few-shot prefix + query as context, each choice with the target delimiter. */
export function multipleChoiceItem(doc: MultipleChoiceDoc, fewShot?: FewShotSource, allDocs?: readonly MultipleChoiceDoc[]): MultipleChoiceItem {
  let prefix = '';
  if (fewShot && fewShot.shots > 0) {
    const pool = fewShot.pool ?? allDocs;
    if (!pool) throw new Error('few-shot prompting needs a pool of examples');
    prefix = sampleFewShot(pool, fewShot.shots, fewShot.seed, doc.id, (candidate) => sameDoc(candidate, doc))
      .map(renderExample)
      .join('');
  }
  return {
    id: doc.id,
    context: prefix + doc.query,
    choices: doc.choices.map((c) => TARGET_DELIMITER + c),
    gold: doc.gold,
    targetDelimiter: TARGET_DELIMITER,
  };
}

/** Items for all docs (the first `limit` when given); few-shot examples come from `fewShot.pool` or the docs. */
export function multipleChoiceItems(docs: readonly MultipleChoiceDoc[], fewShot?: FewShotSource, limit?: number): MultipleChoiceItem[] {
  const chosen = limit === undefined ? docs : docs.slice(0, limit);
  return chosen.map((doc) => multipleChoiceItem(doc, fewShot, docs));
}
