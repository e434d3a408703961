// GSM8K as lm-evaluation-harness's gsm8k task runs it (lm_eval/tasks/gsm8k/gsm8k.yaml, version 3.0):
// prompt "Question: {question}\nAnswer:", target the full answer text (reasoning then "#### N"), 5-shot
// from the train split by default, greedy generation until "Question:", "</s>" or "<|im_end|>", at most
// 256 new tokens (the harness's HF model default max_gen_toks, lm_eval/models/huggingface.py), then two
// filters on the output and exact_match with the yaml's settings on each:
//   strict-match:     regex "#### (\-?[0-9\.\,]+)", first match's group   (lm_eval/filters/extraction.py
//   flexible-extract: regex "(-?[$0-9.,]{2,})|(-?[0-9]+)", group_select -1  RegexFilter: findall, pick
//                     the match, first non-empty group of a tuple, strip, "[invalid]" when none matched)
//   exact_match: ignore_case, regexes_to_ignore [",", "\$", "(?s).*#### ", "\.$"] removed from prediction and
//                reference in that order (lm_eval/api/metrics.py exact_match_hf_evaluate).

import { parseJsonl } from '../../data/read-records';
import { pythonRemoveAll } from '../metrics/python-regex';
import { meanWithStderr } from '../metrics/mean-stderr';
import type { ExactMatchSettings, Gsm8kItem, SuiteScores } from '../suite-types';
import { sampleFewShot } from './few-shot';
import type { EvalLineError } from './multiple-choice-shapes';

export interface Gsm8kDoc {
  id: string;
  question: string;
  answer: string;
}

/** gsm8k.yaml's generation and scoring settings. */
export const GSM8K_DEFAULTS: { shots: number; stop: readonly string[]; maxNewTokens: number; exactMatch: ExactMatchSettings } = {
  shots: 5,
  stop: ['Question:', '</s>', '<|im_end|>'],
  maxNewTokens: 256,
  exactMatch: { ignoreCase: true, ignorePunctuation: false, regexesToIgnore: [',', '\\$', '(?s).*#### ', '\\.$'] },
};

export const GSM8K_INVALID = '[invalid]';
const STRICT = /#### (\-?[0-9\.\,]+)/g;
const FLEXIBLE = /(-?[$0-9.,]{2,})|(-?[0-9]+)/g;

/** Records {question, answer} of a GSM8K JSONL file; bad lines are reported with line and field. */
export function parseGsm8k(text: string, file: string): { docs: Gsm8kDoc[]; errors: EvalLineError[] } {
  const parsed = parseJsonl(text, file);
  const errors: EvalLineError[] = parsed.errors.map((e) => ({ line: e.line, field: '', message: `${file}:${e.line}: ${e.message}` }));
  const docs: Gsm8kDoc[] = [];
  for (const { line, value } of parsed.records) {
    const r = value as Record<string, unknown> | null;
    const bad = !r || typeof r !== 'object' || Array.isArray(r) ? '' : ['question', 'answer'].find((f) => typeof r[f] !== 'string' || (r[f] as string).trim() === '');
    if (bad !== undefined) {
      errors.push({ line, field: bad, message: `${file}:${line}: ${bad === '' ? 'must be a JSON object' : `${bad} must be a non-empty string`}` });
      continue;
    }
    docs.push({ id: `${file}:${line}`, question: r!.question as string, answer: r!.answer as string });
  }
  errors.sort((a, b) => a.line - b.line);
  return { docs, errors };
}

/** doc_to_text. */
export function gsm8kQuery(doc: Gsm8kDoc): string {
  return `Question: ${doc.question}\nAnswer:`;
}

/** Items with k-shot contexts: each example is query + " " + answer + "\n\n" (task.py build_qa_turn). */
export function gsm8kItems(docs: readonly Gsm8kDoc[], fewShot: { shots: number; seed: number; pool: readonly Gsm8kDoc[] }, limit?: number): Gsm8kItem[] {
  const chosen = limit === undefined ? docs : docs.slice(0, limit);
  return chosen.map((doc) => {
    const examples = sampleFewShot(fewShot.pool, fewShot.shots, fewShot.seed, doc.id, (c) => c.question === doc.question);
    const prefix = examples.map((e) => `${gsm8kQuery(e)} ${e.answer}\n\n`).join('');
    return { id: doc.id, context: prefix + gsm8kQuery(doc), question: doc.question, answer: doc.answer };
  });
}

/** The generation cut at the first stop sequence (the harness splits on each `until` string in turn). */
export function truncateAtStop(text: string, stop: readonly string[]): string {
  let cut = text.length;
  for (const s of stop) {
    if (s === '') continue;
    const at = text.indexOf(s);
    if (at >= 0 && at < cut) cut = at;
  }
  return text.slice(0, cut);
}

/**
 * RegexFilter.apply for one response (`regex` global): findall, the `select`-th match (negative: from the
 * end), first non-empty group, stripped; GSM8K_INVALID when nothing matches.
 */
export function regexFilter(regex: RegExp, select: number, response: string): string {
  const matches = [...response.matchAll(regex)];
  if (matches.length === 0) return GSM8K_INVALID;
  const match = matches[select < 0 ? matches.length + select : select];
  const groups = match.slice(1);
  // findall gives the whole match without groups, the one group as a string, several groups as a tuple of
  // which the first non-empty is taken.
  const value = groups.length === 0 ? match[0] : groups.length === 1 ? (groups[0] ?? '') : (groups.find((g) => g !== undefined && g !== '') ?? GSM8K_INVALID);
  return value.trim();
}

/** "strict-match": the number after the first "#### ". */
export function strictMatchAnswer(response: string): string {
  return regexFilter(STRICT, 0, response);
}

/** "flexible-extract": the last number-like run of the response. */
export function flexibleExtractAnswer(response: string): string {
  return regexFilter(FLEXIBLE, -1, response);
}

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/** exact_match_hf_evaluate for one pair: 1 when equal after the configured removals, else 0. */
export function harnessExactMatch(prediction: string, reference: string, settings: ExactMatchSettings): number {
  let p = prediction;
  let r = reference;
  for (const pattern of settings.regexesToIgnore) {
    p = pythonRemoveAll(pattern, p);
    r = pythonRemoveAll(pattern, r);
  }
  if (settings.ignoreCase) {
    p = p.toLowerCase();
    r = r.toLowerCase();
  }
  if (settings.ignorePunctuation) {
    p = p.replace(PUNCTUATION, '');
    r = r.replace(PUNCTUATION, '');
  }
  return p === r ? 1 : 0;
}

export interface Gsm8kItemResult {
  strict: string;
  flexible: string;
  strictCorrect: number;
  flexibleCorrect: number;
}

/** Scores one generation (already cut at the stop sequences) against the item's reference answer. */
export function scoreGsm8k(generation: string, answer: string, settings: ExactMatchSettings = GSM8K_DEFAULTS.exactMatch): Gsm8kItemResult {
  const strict = strictMatchAnswer(generation);
  const flexible = flexibleExtractAnswer(generation);
  return { strict, flexible, strictCorrect: harnessExactMatch(strict, answer, settings), flexibleCorrect: harnessExactMatch(flexible, answer, settings) };
}

/** "exact_match,strict-match" and "exact_match,flexible-extract" with their standard errors. */
export function gsm8kMetrics(results: readonly Gsm8kItemResult[]): SuiteScores {
  if (results.length === 0) throw new Error('gsm8k: no items to score');
  return {
    'exact_match,strict-match': meanWithStderr(results.map((r) => r.strictCorrect)),
    'exact_match,flexible-extract': meanWithStderr(results.map((r) => r.flexibleCorrect)),
  };
}
