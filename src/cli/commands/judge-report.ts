// `tunelab judge`'s JSON: the summaries by turn (and over both turns, as FastChat's show_result.py averages
// the rows of both), then every judgement with the answers, the judge's user prompt, its judgment and the
// verdict (FastChat's judgment records keep the same: user_prompt, judgment, score / g1_winner, g2_winner).

import type { PairResult, SingleGrade } from '../../engine/eval/judge/run-judge';
import { summarizePairwise, summarizeSingle } from '../../engine/eval/judge/summary';
import type { Verdict } from '../../engine/eval/judge/verdict';
import type { QuestionId } from '../../engine/eval/judge/records';

type Json = Record<string, unknown>;
type Answers = ReadonlyMap<QuestionId, readonly string[]>;

function verdictJson(v: Verdict): Json {
  if (v.kind === 'rating') return { rating: v.rating };
  if (v.kind === 'winner') return { winner: v.winner, ...(v.ratings ? { ratings: v.ratings } : {}) };
  return { unparsable: v.reason, detail: v.detail };
}

const userPrompt = (messages: readonly { role: string; content: string }[]) => messages.at(-1)!.content;

export interface SingleRun {
  turn: 1 | 2;
  /** By model: "base", and "adapter" when there is one. */
  grades: Record<string, SingleGrade[]>;
}

export function singleReport(runs: readonly SingleRun[], answers: Record<string, Answers>): Json {
  const models = Object.keys(answers);
  const results: Json = {};
  for (const run of runs) {
    const byModel = Object.fromEntries(models.map((m) => [m, summarizeSingle(run.grades[m].map((g) => g.verdict))]));
    results[`turn_${run.turn}`] = { ...byModel, ...difference(byModel) };
  }
  if (runs.length > 1) {
    const byModel = Object.fromEntries(models.map((m) => [m, summarizeSingle(runs.flatMap((r) => r.grades[m].map((g) => g.verdict)))]));
    results.average = { ...byModel, ...difference(byModel) };
  }
  const items = runs.flatMap((run) =>
    run.grades[models[0]].map((first, i) => ({
      question_id: first.questionId,
      category: first.category,
      turn: run.turn,
      prompt: first.promptName,
      ...Object.fromEntries(
        models.map((m) => {
          const g = run.grades[m][i];
          return [m, { answer: answers[m].get(g.questionId)![run.turn - 1], user_prompt: userPrompt(g.messages), judgment: g.judgment, ...verdictJson(g.verdict) }];
        }),
      ),
    })),
  );
  return { results, items };
}

/** adapter score - base score, when both have one. */
function difference(byModel: Record<string, ReturnType<typeof summarizeSingle>>): Json {
  const base = byModel.base?.score;
  const adapter = byModel.adapter?.score;
  return adapter !== undefined && adapter !== null && base !== undefined && base !== null ? { score_difference: adapter - base } : {};
}

export interface PairRun {
  turn: 1 | 2;
  pairs: PairResult[];
}

export function pairwiseReport(runs: readonly PairRun[], adapter: Answers, base: Answers): Json {
  const summarize = (pairs: readonly PairResult[]) => summarizePairwise(pairs, pairs.flatMap((p) => p.games.map((g) => g.verdict)));
  const results: Json = Object.fromEntries(runs.map((r) => [`turn_${r.turn}`, summarize(r.pairs)]));
  if (runs.length > 1) results.average = summarize(runs.flatMap((r) => r.pairs));
  const name = (who: 'candidate' | 'baseline' | 'tie' | 'error') => (who === 'candidate' ? 'adapter' : who === 'baseline' ? 'base' : who);
  const items = runs.flatMap((run) =>
    run.pairs.map((p) => ({
      question_id: p.questionId,
      category: p.category,
      turn: run.turn,
      prompt: p.promptName,
      outcome: p.outcome,
      inconsistent: p.inconsistent,
      adapter_answer: adapter.get(p.questionId)![run.turn - 1],
      base_answer: base.get(p.questionId)![run.turn - 1],
      games: p.games.map((g) => ({ a: name(g.a), b: name(g.a === 'candidate' ? 'baseline' : 'candidate'), user_prompt: userPrompt(g.messages), judgment: g.judgment, ...verdictJson(g.verdict), winner: name(g.winner) })),
    })),
  );
  return { results, items };
}
