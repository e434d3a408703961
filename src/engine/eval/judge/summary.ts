// The numbers of a judgement, as FastChat's show_result.py computes them, with standard errors added the
// way lm-evaluation-harness reports a mean (../metrics/mean-stderr.ts; none for fewer than two items).
//
// Single-answer grading (display_result_single): the mean score over the rated answers; unparsable ones
// (FastChat's score -1) are left out and counted.
// Pairwise with both orders (play_a_match_pair, then display_result_pairwise): game 1 puts the candidate
// in position A, game 2 puts it in B. A question where either game is unparsable (FastChat's "error") is
// left out and counted. Otherwise the candidate wins only when both games name it, loses only when both
// name the baseline, and anything else is a tie: an explicit tie in either game, or two games that
// disagree (FastChat: `g1_winner == "tie" or g1_winner != g2_winner`), the latter also counted as
// `inconsistent`. win_rate = win / (win + loss + tie), loss_rate likewise, win_rate_adjusted =
// (win + tie / 2) / (win + loss + tie). This is FastChat's rule exactly; no difference to document.
//
// Public API: combineOrders(g1, g2), summarizeSingle(verdicts), summarizePairwise(results, gameVerdicts).

import { mean, meanStderr } from '../metrics/mean-stderr';
import type { UnparsableReason, Verdict } from './verdict';

/** Who won one game, in the candidate's and baseline's names; 'error' = unparsable verdict. */
export type GameWinner = 'candidate' | 'baseline' | 'tie' | 'error';

/** One question's result for the candidate. */
export type PairOutcome = 'win' | 'loss' | 'tie' | 'unparsable';

export function combineOrders(g1: GameWinner, g2: GameWinner): { outcome: PairOutcome; inconsistent: boolean } {
  if (g1 === 'error' || g2 === 'error') return { outcome: 'unparsable', inconsistent: false };
  if (g1 !== g2) return { outcome: 'tie', inconsistent: true };
  if (g1 === 'tie') return { outcome: 'tie', inconsistent: false };
  return { outcome: g1 === 'candidate' ? 'win' : 'loss', inconsistent: false };
}

export type ReasonCounts = Record<UnparsableReason, number>;

function countReasons(verdicts: readonly Verdict[]): ReasonCounts {
  const counts: ReasonCounts = { 'no-verdict': 0, conflicting: 0, 'out-of-scale': 0 };
  for (const v of verdicts) if (v.kind === 'unparsable') counts[v.reason]++;
  return counts;
}

/** The mean and its standard error, null where there are too few values. */
function meanAndStderr(values: readonly number[]): { value: number | null; stderr: number | null } {
  return { value: values.length > 0 ? mean(values) : null, stderr: values.length >= 2 ? meanStderr(values) : null };
}

export interface SingleSummary {
  /** Answers judged. */
  judged: number;
  /** Verdicts read as a rating. */
  rated: number;
  unparsable: number;
  unparsable_reasons: ReasonCounts;
  /** Mean rating (1-10) over the rated answers; null when none was. */
  score: number | null;
  score_stderr: number | null;
}

export function summarizeSingle(verdicts: readonly Verdict[]): SingleSummary {
  const ratings = verdicts.flatMap((v) => (v.kind === 'rating' ? [v.rating] : []));
  const { value, stderr } = meanAndStderr(ratings);
  const reasons = countReasons(verdicts);
  return { judged: verdicts.length, rated: ratings.length, unparsable: verdicts.length - ratings.length, unparsable_reasons: reasons, score: value, score_stderr: stderr };
}

export interface PairwiseSummary {
  /** Questions judged (two games each). */
  judged: number;
  win: number;
  loss: number;
  tie: number;
  /** Ties that are two games naming different winners (included in tie). */
  inconsistent: number;
  /** Questions left out because a game's verdict was unparsable. */
  unparsable: number;
  /** Games (of 2 x judged) whose verdict was unparsable, by reason. */
  unparsable_games: number;
  unparsable_reasons: ReasonCounts;
  /** Over win + loss + tie; null when that is 0. */
  win_rate: number | null;
  win_rate_stderr: number | null;
  loss_rate: number | null;
  loss_rate_stderr: number | null;
  win_rate_adjusted: number | null;
  win_rate_adjusted_stderr: number | null;
}

/** `results`: each question's combined outcome; `gameVerdicts`: the verdicts of all its games. */
export function summarizePairwise(results: readonly { outcome: PairOutcome; inconsistent: boolean }[], gameVerdicts: readonly Verdict[]): PairwiseSummary {
  const outcomes = results.map((r) => r.outcome);
  const count = (o: PairOutcome) => outcomes.filter((x) => x === o).length;
  const decided = outcomes.filter((o) => o !== 'unparsable');
  const rate = (score: (o: PairOutcome) => number) => meanAndStderr(decided.map(score));
  const win = rate((o) => (o === 'win' ? 1 : 0));
  const loss = rate((o) => (o === 'loss' ? 1 : 0));
  const adjusted = rate((o) => (o === 'win' ? 1 : o === 'tie' ? 0.5 : 0));
  const reasons = countReasons(gameVerdicts);
  return {
    judged: outcomes.length,
    win: count('win'),
    loss: count('loss'),
    tie: count('tie'),
    inconsistent: results.filter((r) => r.inconsistent).length,
    unparsable: count('unparsable'),
    unparsable_games: gameVerdicts.filter((v) => v.kind === 'unparsable').length,
    unparsable_reasons: reasons,
    win_rate: win.value,
    win_rate_stderr: win.stderr,
    loss_rate: loss.value,
    loss_rate_stderr: loss.stderr,
    win_rate_adjusted: adjusted.value,
    win_rate_adjusted_stderr: adjusted.stderr,
  };
}
