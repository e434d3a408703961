// Reading a judge's verdict with the judge prompt's own output format, with FastChat's patterns
// (fastchat/llm_judge/common.py: one_score_pattern "\[\[(\d+\.?\d*)\]\]" then its backup "\[(\d+\.?\d*)\]",
// two_score_pattern "\[\[(\d+\.?\d*),\s?(\d+\.?\d*)\]\]" then its backup, and for "[[A]]" the substrings
// "[[A]]", "[[B]]", "[[C]]" (C = tie); TIE_DELTA 0.1 between two ratings is a tie).
//
// Where FastChat guesses, we count the verdict as unparsable instead (never guessed):
// - FastChat takes the first match (a rating) or the first of "[[A]]", "[[B]]", "[[C]]" that occurs anywhere
//   (a winner), so a judge that echoes the instructions ('"[[A]]" if assistant A is better, "[[B]]" ...')
//   reads as A. Here a judgment whose matches disagree (two different ratings, or more than one of
//   [[A]] / [[B]] / [[C]]) is 'conflicting'. Repeating the same verdict is fine.
// - FastChat averages any number it finds; a rating outside the prompts' 1-10 scale is 'out-of-scale' here.
// A judgment without any match is 'no-verdict' (FastChat: score -1 / winner "error", left out of results).
//
// Public API: parseVerdict(format, judgment), parseRating(judgment), parseWinner(format, judgment).

import type { VerdictFormat } from './records';

export type UnparsableReason = 'no-verdict' | 'conflicting' | 'out-of-scale';

export interface Unparsable {
  kind: 'unparsable';
  reason: UnparsableReason;
  /** What was (or was not) found, for display. */
  detail: string;
}

export interface RatingVerdict {
  kind: 'rating';
  /** 1-10 (decimals allowed: "[[7.5]]"). */
  rating: number;
}

export type Winner = 'A' | 'B' | 'tie';

export interface WinnerVerdict {
  kind: 'winner';
  winner: Winner;
  /** The two ratings, when the format is "[[rating_a,rating_b]]". */
  ratings?: [number, number];
}

export type Verdict = RatingVerdict | WinnerVerdict | Unparsable;

/** The 1-10 scale every FastChat rating prompt asks for. */
export const RATING_MIN = 1;
export const RATING_MAX = 10;
/** FastChat's TIE_DELTA: two ratings this close are a tie. */
export const TIE_DELTA = 0.1;

const ONE_SCORE = /\[\[(\d+\.?\d*)\]\]/g;
const ONE_SCORE_BACKUP = /\[(\d+\.?\d*)\]/g;
const TWO_SCORE = /\[\[(\d+\.?\d*),\s?(\d+\.?\d*)\]\]/g;
const TWO_SCORE_BACKUP = /\[(\d+\.?\d*),\s?(\d+\.?\d*)\]/g;

/** Every match's groups, from the main pattern or, when it finds nothing, the backup (as FastChat). */
function matchesOf(judgment: string, main: RegExp, backup: RegExp): string[][] {
  for (const pattern of [main, backup]) {
    const found = [...judgment.matchAll(pattern)].map((m) => m.slice(1));
    if (found.length > 0) return found;
  }
  return [];
}

const inScale = (x: number) => x >= RATING_MIN && x <= RATING_MAX;

/** The ratings of `groups` (all the same), or why not. */
function agreedNumbers(groups: string[][], what: string): number[] | Unparsable {
  if (groups.length === 0) return { kind: 'unparsable', reason: 'no-verdict', detail: `no ${what} found` };
  const distinct = [...new Set(groups.map((g) => g.map(Number).join(',')))];
  if (distinct.length > 1) return { kind: 'unparsable', reason: 'conflicting', detail: `different ${what}s: ${distinct.map((d) => `[${d}]`).join(', ')}` };
  const numbers = groups[0].map(Number);
  if (!numbers.every(inScale)) return { kind: 'unparsable', reason: 'out-of-scale', detail: `${what} ${numbers.join(', ')} outside ${RATING_MIN}-${RATING_MAX}` };
  return numbers;
}

/** "[[rating]]": one rating 1-10. */
export function parseRating(judgment: string): RatingVerdict | Unparsable {
  const numbers = agreedNumbers(matchesOf(judgment, ONE_SCORE, ONE_SCORE_BACKUP), 'rating');
  return Array.isArray(numbers) ? { kind: 'rating', rating: numbers[0] } : numbers;
}

const WINNER_TOKENS: [string, Winner][] = [
  ['[[A]]', 'A'],
  ['[[B]]', 'B'],
  ['[[C]]', 'tie'],
];

/** "[[A]]": [[A]], [[B]] or [[C]] (tie); "[[rating_a,rating_b]]": the higher rating wins, within 0.1 a tie. */
export function parseWinner(format: '[[A]]' | '[[rating_a,rating_b]]', judgment: string): WinnerVerdict | Unparsable {
  if (format === '[[A]]') {
    const present = WINNER_TOKENS.filter(([token]) => judgment.includes(token));
    if (present.length === 0) return { kind: 'unparsable', reason: 'no-verdict', detail: 'none of [[A]], [[B]], [[C]] found' };
    if (present.length > 1) return { kind: 'unparsable', reason: 'conflicting', detail: `both ${present.map(([t]) => t).join(' and ')} found` };
    return { kind: 'winner', winner: present[0][1] };
  }
  const numbers = agreedNumbers(matchesOf(judgment, TWO_SCORE, TWO_SCORE_BACKUP), 'rating pair');
  if (!Array.isArray(numbers)) return numbers;
  const [a, b] = numbers;
  const winner: Winner = Math.abs(a - b) <= TIE_DELTA ? 'tie' : a > b ? 'A' : 'B';
  return { kind: 'winner', winner, ratings: [a, b] };
}

export function parseVerdict(format: VerdictFormat, judgment: string): Verdict {
  return format === '[[rating]]' ? parseRating(judgment) : parseWinner(format, judgment);
}
