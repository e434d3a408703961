// Runs an MT-Bench style judgement over questions whose answers are already known: single-answer grading
// (one judge call per question) or pairwise candidate-versus-baseline with both orders (two calls per
// question: game 1 with the candidate as assistant A, game 2 with it as B, as FastChat's play_a_match_pair
// plays model_1 against the baseline model_2). Prompts come from the JudgePromptChoice (prompt-choice.ts),
// verdicts are read with the prompt's own output format (verdict.ts) and summarised as FastChat's
// show_result.py does (summary.ts). Multi-turn prompts judge the second turn and skip one-turn questions, as
// FastChat's make_match does.
//
// Cancelling (signal) stops starting questions; the judgements finished so far come back with
// `cancelled: true`.
//
// Public API:
//   judgeSingle({ judge, questions, answers, prompts, references?, parallel?, signal?, onProgress? })
//     -> { grades: SingleGrade[], summary: SingleSummary, skipped, cancelled }
//   judgePairwise({ judge, questions, candidate, baseline, prompts, references?, ... })
//     -> { pairs: PairResult[], summary: PairwiseSummary, skipped, cancelled }

import type { ChatMessage } from '../../model/chat-template';
import type { JudgeModel } from './judge-model';
import { checkPromptChoice, promptForQuestion, type JudgePromptChoice } from './prompt-choice';
import type { JudgeQuestion, QuestionId } from './records';
import { combineOrders, summarizePairwise, summarizeSingle, type GameWinner, type PairOutcome, type PairwiseSummary, type SingleSummary } from './summary';
import { pairJudgeMessages, singleJudgeMessages } from './template';
import { parseRating, parseWinner, type RatingVerdict, type Unparsable, type WinnerVerdict } from './verdict';

/** Answers by question id: the answer to each turn. */
export type AnswerSet = ReadonlyMap<QuestionId, readonly string[]>;

interface JudgeRunCommon {
  judge: JudgeModel;
  questions: readonly JudgeQuestion[];
  prompts: JudgePromptChoice;
  /** Reference answers by question id (for reference-based prompts). */
  references?: AnswerSet;
  /** Questions judged at once (default 4); their calls reach the judge together, so it may batch them. */
  parallel?: number;
  signal?: AbortSignal;
  /** After each question: questions finished, of those judged. */
  onProgress?(done: number, total: number): void;
}

export interface SingleJudgeInput extends JudgeRunCommon {
  answers: AnswerSet;
}

export interface PairwiseJudgeInput extends JudgeRunCommon {
  /** The model being evaluated (FastChat's model_1): the adapter. */
  candidate: AnswerSet;
  /** The model it is compared with (FastChat's baseline model_2): the base. */
  baseline: AnswerSet;
}

interface JudgedQuestion {
  questionId: QuestionId;
  category: string;
  /** The turn judged: 1, or 2 for a multi-turn prompt. */
  turn: 1 | 2;
  promptName: string;
}

export interface SingleGrade extends JudgedQuestion {
  messages: ChatMessage[];
  judgment: string;
  verdict: RatingVerdict | Unparsable;
}

export interface PairGame {
  /** Whose answer was assistant A. */
  a: 'candidate' | 'baseline';
  messages: ChatMessage[];
  judgment: string;
  /** In the judge's own terms (A, B, tie). */
  verdict: WinnerVerdict | Unparsable;
  /** The verdict in the models' names. */
  winner: GameWinner;
}

export interface PairResult extends JudgedQuestion {
  /** Game 1: candidate as A; game 2: candidate as B. */
  games: [PairGame, PairGame];
  outcome: PairOutcome;
  /** The two games named different winners (the outcome is then a tie). */
  inconsistent: boolean;
}

interface RunInfo {
  /** Questions left out: one-turn questions under a multi-turn prompt. */
  skipped: QuestionId[];
  cancelled: boolean;
}

/** The questions a judgement covers, the turn it judges, and the ones it skips. */
function plan(input: JudgeRunCommon, mode: 'single' | 'pairwise') {
  const { multiTurn } = checkPromptChoice(input.prompts, mode);
  const judged = input.questions.filter((q) => !multiTurn || q.turns.length >= 2);
  const skipped = input.questions.filter((q) => multiTurn && q.turns.length < 2).map((q) => q.questionId);
  return { judged, skipped, turn: (multiTurn ? 2 : 1) as 1 | 2 };
}

function answersOf(set: AnswerSet, q: JudgeQuestion, whose: string): readonly string[] {
  const a = set.get(q.questionId);
  if (!a) throw new Error(`there is no ${whose} answer to question ${q.questionId}`);
  return a;
}

/**
 * Runs `work` on each item, at most `parallel` at once, results in item order. After a cancel no new item
 * starts and the items that did not finish are left out.
 */
async function runLimited<T, R>(items: readonly T[], parallel: number, signal: AbortSignal | undefined, work: (item: T) => Promise<R>, onDone: (n: number) => void): Promise<{ results: R[]; cancelled: boolean }> {
  const results: (R | undefined)[] = new Array(items.length);
  let next = 0;
  let finished = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !signal?.aborted && !failed) {
      const i = next++;
      try {
        results[i] = await work(items[i]);
      } catch (err) {
        if (signal?.aborted) return;
        failed = true;
        throw err;
      }
      onDone(++finished);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, items.length)) }, worker));
  return { results: results.filter((r): r is R => r !== undefined), cancelled: signal?.aborted === true && finished < items.length };
}

export async function judgeSingle(input: SingleJudgeInput): Promise<RunInfo & { grades: SingleGrade[]; summary: SingleSummary }> {
  const { judged, skipped, turn } = plan(input, 'single');
  const { results, cancelled } = await runLimited(
    judged,
    input.parallel ?? 4,
    input.signal,
    async (q): Promise<SingleGrade> => {
      const { prompt, reference } = promptForQuestion(input.prompts, q, input.references?.get(q.questionId));
      const messages = singleJudgeMessages(prompt, q, answersOf(input.answers, q, 'graded'), reference);
      const judgment = await input.judge.complete(messages, input.signal);
      return { questionId: q.questionId, category: q.category, turn, promptName: prompt.name, messages, judgment, verdict: parseRating(judgment) };
    },
    (done) => input.onProgress?.(done, judged.length),
  );
  return { grades: results, summary: summarizeSingle(results.map((g) => g.verdict)), skipped, cancelled };
}

/** A verdict in the models' names, given who was A. */
function gameWinner(verdict: WinnerVerdict | Unparsable, a: 'candidate' | 'baseline'): GameWinner {
  if (verdict.kind === 'unparsable') return 'error';
  if (verdict.winner === 'tie') return 'tie';
  const b = a === 'candidate' ? 'baseline' : 'candidate';
  return verdict.winner === 'A' ? a : b;
}

export async function judgePairwise(input: PairwiseJudgeInput): Promise<RunInfo & { pairs: PairResult[]; summary: PairwiseSummary }> {
  const { judged, skipped, turn } = plan(input, 'pairwise');
  const { results, cancelled } = await runLimited(
    judged,
    input.parallel ?? 4,
    input.signal,
    async (q): Promise<PairResult> => {
      const { prompt, reference } = promptForQuestion(input.prompts, q, input.references?.get(q.questionId));
      const format = prompt.outputFormat as '[[A]]' | '[[rating_a,rating_b]]';
      const candidate = answersOf(input.candidate, q, 'candidate');
      const baseline = answersOf(input.baseline, q, 'baseline');
      const orders = [
        { a: 'candidate' as const, messages: pairJudgeMessages(prompt, q, candidate, baseline, reference) },
        { a: 'baseline' as const, messages: pairJudgeMessages(prompt, q, baseline, candidate, reference) },
      ];
      // Both orders at once, so an engine judge decodes them in one batch.
      const judgments = await Promise.all(orders.map((o) => input.judge.complete(o.messages, input.signal)));
      const games = orders.map((o, i): PairGame => {
        const verdict = parseWinner(format, judgments[i]);
        return { a: o.a, messages: o.messages, judgment: judgments[i], verdict, winner: gameWinner(verdict, o.a) };
      }) as [PairGame, PairGame];
      return { questionId: q.questionId, category: q.category, turn, promptName: prompt.name, games, ...combineOrders(games[0].winner, games[1].winner) };
    },
    (done) => input.onProgress?.(done, judged.length),
  );
  return { pairs: results, summary: summarizePairwise(results, results.flatMap((p) => p.games.map((g) => g.verdict))), skipped, cancelled };
}
