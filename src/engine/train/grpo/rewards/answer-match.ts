// The answer-match reward: extract the completion's final answer and compare it with the example's.
// Extraction reuses lm-evaluation-harness's GSM8K filters (src/engine/eval/suites/gsm8k.ts): the strict
// "#### N" first, else the flexible last number; or a user's regex. The reference comes from
// example.answer, where a GSM8K answer string ends in "#### N". Two answers match as numbers when both parse
// (commas and "$" removed, as the harness's regexes_to_ignore do), else as normalised strings.

import { GSM8K_INVALID, flexibleExtractAnswer, regexFilter, strictMatchAnswer } from '../../../eval/suites/gsm8k';
import { RewardCallError } from './reward-types';

/** `pattern` with the global flag, as the harness's findall-based filter (gsm8k.ts regexFilter) reads it. */
export function globalPattern(pattern: RegExp): RegExp {
  return pattern.flags.includes('g') ? pattern : new RegExp(pattern.source, pattern.flags + 'g');
}

/**
 * The completion's final answer: with `pattern` (global, globalPattern), its last match as the harness's
 * regex filter takes it (the first non-empty capture group, or the whole match when the pattern has no
 * groups); otherwise GSM8K's "#### N", else the last number. Undefined when nothing is found.
 */
export function extractFinalAnswer(completion: string, pattern?: RegExp): string | undefined {
  const found = (answer: string) => (answer === GSM8K_INVALID ? undefined : answer);
  if (pattern !== undefined) return found(regexFilter(pattern, -1, completion));
  return found(strictMatchAnswer(completion)) ?? found(flexibleExtractAnswer(completion));
}

/** The reference answer from example.answer: a number, or a string (GSM8K's "... #### 72" gives "72"). */
export function expectedAnswer(example: Record<string, unknown>): string {
  const answer = example.answer;
  if (typeof answer === 'number' && Number.isFinite(answer)) return String(answer);
  if (typeof answer !== 'string') {
    throw new RewardCallError(`the example has no answer to compare with: answer-match reads example.answer (a string or number), found ${answer === undefined ? 'none' : typeof answer}`);
  }
  if (!answer.includes('####')) return answer.trim();
  const strict = strictMatchAnswer(answer);
  return strict !== GSM8K_INVALID ? strict : answer.slice(answer.lastIndexOf('####') + 4).trim();
}

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i;

/** The answer as a number ("1,234", "$5", "72." parse), or undefined. */
export function parseAnswerNumber(text: string): number | undefined {
  const cleaned = text.trim().replace(/[,$]/g, '').replace(/\.$/, '');
  return NUMBER.test(cleaned) ? Number(cleaned) : undefined;
}

/** Lower-case, trimmed, whitespace runs collapsed, one trailing period removed. */
export function normaliseAnswerText(text: string): string {
  return text.toLowerCase().trim().replace(/\s+/g, ' ').replace(/\.$/, '').trim();
}

/** Equal as numbers when both parse, else as normalised strings. */
export function answersMatch(predicted: string, expected: string): boolean {
  const a = parseAnswerNumber(predicted);
  const b = parseAnswerNumber(expected);
  if (a !== undefined && b !== undefined) return a === b;
  return normaliseAnswerText(predicted) === normaliseAnswerText(expected);
}

/** 1 when the completion's final answer matches example.answer, else 0. */
export function answerMatchReward(completion: string, example: Record<string, unknown>, pattern?: RegExp): number {
  const expected = expectedAnswer(example);
  const predicted = extractFinalAnswer(completion, pattern);
  return predicted !== undefined && answersMatch(predicted, expected) ? 1 : 0;
}
