// HellaSwag text the lm-evaluation-harness way (lm_eval/tasks/hellaswag/utils.py) and the
// hellaswag-ppl-800 asset, which stores each item as two lines of plain text (context + correct ending,
// context + first wrong ending) rather than HF Rowan/hellaswag records.
//
// What the asset lacks, so its items differ from the harness's hellaswag task:
// - no activity_label: the harness's query starts "{activity_label}: ", ours starts at the context;
// - no ctx_a / ctx_b split: the harness capitalises ctx_b (str.capitalize), we cannot know where it starts,
//   so the context is kept as written (its ctx_b is lower-case, e.g. "... on a roof. he");
// - two endings (correct, first wrong) instead of four, so chance is 1/2 and accuracies are not comparable
//   with published 4-way HellaSwag numbers;
// - the shared context is the lines' common prefix cut back to a word boundary: when the two endings start
//   with the same words, those words move into the context (the choices then differ from the harness's).
// The harness's preprocess is applied to the context and to each ending (the asset is already clean, so it
// changes almost nothing: one wrong ending has a double space).

import type { MultipleChoiceDoc } from '../suite-types';

/** utils.py preprocess: strip, " [title]" -> ". ", drop "[...]" spans, then "  " -> " " (one pass). */
export function hellaswagPreprocess(text: string): string {
  return text.trim().replaceAll(' [title]', '. ').replace(/\[.*?\]/g, '').replaceAll('  ', ' ');
}

/** Python's str.capitalize: first character upper-cased, the rest lower-cased. */
export function pythonCapitalize(text: string): string {
  const [first, ...rest] = Array.from(text);
  return first === undefined ? '' : first.toUpperCase() + rest.join('').toLowerCase();
}

/** utils.py process_docs: the query of an HF HellaSwag record. */
export function hellaswagQuery(activityLabel: string, ctxA: string, ctxB: string): string {
  return hellaswagPreprocess(`${activityLabel}: ${ctxA} ${pythonCapitalize(ctxB)}`);
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Context and the two endings of one line pair; the context ends before the last space they share. */
function splitPair(correct: string, wrong: string, line: number, file: string): { context: string; endings: [string, string] } {
  let common = 0;
  const limit = Math.min(correct.length, wrong.length);
  while (common < limit && correct[common] === wrong[common]) common++;
  const cut = correct.lastIndexOf(' ', common - 1);
  if (common === correct.length && common === wrong.length) throw new Error(`${file}:${line}: the correct and the wrong ending are the same text`);
  if (cut <= 0) throw new Error(`${file}:${line}: the two lines share no context before a word boundary`);
  const context = correct.slice(0, cut);
  const endings: [string, string] = [correct.slice(cut + 1), wrong.slice(cut + 1)];
  if (endings.some((e) => e.trim() === '')) throw new Error(`${file}:${line}: an ending is empty after the shared context`);
  return { context, endings };
}

/**
 * Items of the hellaswag-ppl-800 asset: line i of `correctText` and of `wrongText` hold the same context with
 * the correct and the first wrong ending. Choices alternate [correct, wrong] on even items and [wrong, correct]
 * on odd ones, so that a tie (argmax takes the first) favours neither the gold nor the wrong ending overall.
 */
export function parseHellaswagPairs(correctText: string, wrongText: string, file = 'hellaswag-ppl-800'): MultipleChoiceDoc[] {
  const correct = splitLines(correctText);
  const wrong = splitLines(wrongText);
  if (correct.length !== wrong.length) throw new Error(`${file}: ${correct.length} correct lines but ${wrong.length} wrong lines`);
  return correct.map((line, i) => {
    const { context, endings } = splitPair(line, wrong[i], i + 1, file);
    const choices = endings.map(hellaswagPreprocess);
    const gold = i % 2;
    return { id: `hellaswag-${i}`, query: hellaswagPreprocess(context), choices: gold === 0 ? choices : [choices[1], choices[0]], gold };
  });
}
