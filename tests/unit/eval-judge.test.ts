// MT-Bench judging with a scripted stub judge that reads the prompt it is given (which answer is in
// position A, which in B) and answers by content: position swapping, FastChat's tie rule, unparsable
// counts, rates with their standard errors, prompt choice by category, multi-turn, cancel and batching.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/engine/model/chat-template';
import type { JudgeModel } from '../../src/engine/eval/judge/judge-model';
import { mtBenchPromptChoice } from '../../src/engine/eval/judge/prompt-choice';
import { parseJudgePrompts, type JudgeQuestion, type QuestionId } from '../../src/engine/eval/judge/records';
import { judgePairwise, judgeSingle } from '../../src/engine/eval/judge/run-judge';
import { combineOrders } from '../../src/engine/eval/judge/summary';

const MT_BENCH = resolve(__dirname, '../../../shared/assets/datasets/mt-bench');
const prompts = parseJudgePrompts(readFileSync(resolve(MT_BENCH, 'judge_prompts.jsonl'), 'utf8'), 'judge_prompts.jsonl').items;

/** A judge that answers with `reply(messages)` and records every call. */
class StubJudge implements JudgeModel {
  readonly name = 'stub';
  readonly calls: ChatMessage[][] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly reply: (messages: readonly ChatMessage[]) => string | Promise<string>) {}
  async complete(messages: readonly ChatMessage[]): Promise<string> {
    this.calls.push([...messages]);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 1));
      return await this.reply(messages);
    } finally {
      this.inFlight--;
    }
  }
}

/** Answer A and answer B as pair-v2 shows them. */
function shownAnswers(messages: readonly ChatMessage[]): { a: string; b: string } {
  const user = messages.at(-1)!.content;
  const between = (who: string) => user.split(`[The Start of Assistant ${who}'s Answer]\n`)[1].split(`\n[The End of Assistant ${who}'s Answer]`)[0];
  return { a: between('A'), b: between('B') };
}

const question = (id: QuestionId, category = 'writing', turns = [`question ${id}`, `follow-up ${id}`]): JudgeQuestion => ({ questionId: id, category, turns });
const answersOf = (who: string, ids: QuestionId[]) => new Map(ids.map((id) => [id, [`${who} answer ${id}`, `${who} second answer ${id}`]]));

describe('pairwise, both orders', () => {
  const ids = [1, 2, 3, 4, 5, 6, 7];
  // What the judge says, by question, given the answer it sees as A (it knows the adapter's by its text).
  const script: Record<number, (aIsAdapter: boolean) => string> = {
    1: (aIsAdapter) => (aIsAdapter ? 'A is better. [[A]]' : 'B is better. [[B]]'), // prefers the adapter: a win
    2: (aIsAdapter) => (aIsAdapter ? '[[B]]' : '[[A]]'), // prefers the base: a loss
    3: () => 'Always the first one. [[A]]', // position bias: the games disagree, a tie
    4: () => 'Equally good. [[C]]', // explicit tie in both games
    5: (aIsAdapter) => (aIsAdapter ? '[[A]]' : '[[C]]'), // a win in one order, a tie in the other: a tie
    6: (aIsAdapter) => (aIsAdapter ? 'I cannot decide.' : '[[B]]'), // one game unparsable: left out
    7: (aIsAdapter) => (aIsAdapter ? '[[A]]' : '[[B]]'), // a win
  };
  const judge = () =>
    new StubJudge((messages) => {
      const { a } = shownAnswers(messages);
      const id = Number(/answer (\d+)$/.exec(a)![1]);
      return script[id](a.startsWith('adapter'));
    });

  it('judges each question as (A = adapter, B = base) and then (A = base, B = adapter)', async () => {
    const stub = judge();
    const result = await judgePairwise({
      judge: stub,
      questions: ids.map((id) => question(id)),
      candidate: answersOf('adapter', ids),
      baseline: answersOf('base', ids),
      prompts: mtBenchPromptChoice(prompts, 'pairwise', false),
      parallel: 1,
    });
    expect(stub.calls).toHaveLength(14);
    // In question order, game 1 then game 2, each with exactly the answers in the swapped positions.
    expect(stub.calls.map(shownAnswers)).toEqual(ids.flatMap((id) => [
      { a: `adapter answer ${id}`, b: `base answer ${id}` },
      { a: `base answer ${id}`, b: `adapter answer ${id}` },
    ]));
    expect(stub.calls.every((c) => c[0].role === 'system' && c[0].content === prompts[0].systemPrompt && c[1].content.startsWith('[User Question]\nquestion '))).toBe(true);
    expect(result.pairs.map((p) => [p.questionId, p.games[0].a, p.games[1].a, p.games[0].winner, p.games[1].winner, p.outcome, p.inconsistent])).toEqual([
      [1, 'candidate', 'baseline', 'candidate', 'candidate', 'win', false],
      [2, 'candidate', 'baseline', 'baseline', 'baseline', 'loss', false],
      [3, 'candidate', 'baseline', 'candidate', 'baseline', 'tie', true],
      [4, 'candidate', 'baseline', 'tie', 'tie', 'tie', false],
      [5, 'candidate', 'baseline', 'candidate', 'tie', 'tie', true],
      [6, 'candidate', 'baseline', 'error', 'candidate', 'unparsable', false],
      [7, 'candidate', 'baseline', 'candidate', 'candidate', 'win', false],
    ]);
    expect(result.pairs[5].games[0].verdict).toEqual({ kind: 'unparsable', reason: 'no-verdict', detail: 'none of [[A]], [[B]], [[C]] found' });
    expect(result.pairs.every((p) => p.promptName === 'pair-v2' && p.turn === 1)).toBe(true);

    // Rates over the 6 decided questions (2 wins, 1 loss, 3 ties); stderr of a mean of 0/1 scores is
    // sqrt(p (1 - p) / (n - 1)); the adjusted scores 1, 0, .5, .5, .5, 1 have squared deviations summing to 17/24.
    const s = result.summary;
    expect(s).toMatchObject({ judged: 7, win: 2, loss: 1, tie: 3, inconsistent: 2, unparsable: 1, unparsable_games: 1 });
    expect(s.unparsable_reasons).toEqual({ 'no-verdict': 1, conflicting: 0, 'out-of-scale': 0 });
    expect(s.win_rate).toBeCloseTo(2 / 6, 12);
    expect(s.loss_rate).toBeCloseTo(1 / 6, 12);
    expect(s.win_rate_adjusted).toBeCloseTo(3.5 / 6, 12);
    expect(s.win_rate_stderr).toBeCloseTo(Math.sqrt(((1 / 3) * (2 / 3)) / 5), 12);
    expect(s.loss_rate_stderr).toBeCloseTo(Math.sqrt(((1 / 6) * (5 / 6)) / 5), 12);
    expect(s.win_rate_adjusted_stderr).toBeCloseTo(Math.sqrt(17 / 24 / 5 / 6), 12);
    expect(result).toMatchObject({ skipped: [], cancelled: false });
  });

  it('FastChat\'s rule for every pair of game results', () => {
    const table: [Parameters<typeof combineOrders>[0], Parameters<typeof combineOrders>[1], string, boolean][] = [
      ['candidate', 'candidate', 'win', false],
      ['baseline', 'baseline', 'loss', false],
      ['tie', 'tie', 'tie', false],
      ['candidate', 'baseline', 'tie', true],
      ['baseline', 'candidate', 'tie', true],
      ['candidate', 'tie', 'tie', true],
      ['tie', 'baseline', 'tie', true],
      ['error', 'candidate', 'unparsable', false],
      ['tie', 'error', 'unparsable', false],
      ['error', 'error', 'unparsable', false],
    ];
    for (const [g1, g2, outcome, inconsistent] of table) expect([g1, g2, combineOrders(g1, g2)]).toEqual([g1, g2, { outcome, inconsistent }]);
  });

  it('sends both orders of a question together, and `parallel` questions at once', async () => {
    const run = async (parallel: number) => {
      const stub = new StubJudge(() => '[[C]]');
      await judgePairwise({ judge: stub, questions: ids.map((id) => question(id)), candidate: answersOf('adapter', ids), baseline: answersOf('base', ids), prompts: mtBenchPromptChoice(prompts, 'pairwise', false), parallel });
      return stub.maxInFlight;
    };
    expect(await run(1)).toBe(2);
    expect(await run(3)).toBe(6);
  });

  it('math questions with a reference go to pair-math-v1 with it; without one, to pair-v2', async () => {
    const stub = new StubJudge(() => '[[C]]');
    const questions = [question(1, 'math'), question(2, 'writing'), question(3, 'coding')];
    const result = await judgePairwise({
      judge: stub,
      questions,
      candidate: answersOf('adapter', [1, 2, 3]),
      baseline: answersOf('base', [1, 2, 3]),
      prompts: mtBenchPromptChoice(prompts, 'pairwise', false),
      references: new Map([[1, ['REFERENCE ONE']], [2, ['REFERENCE TWO']]]),
      parallel: 1,
    });
    expect(result.pairs.map((p) => p.promptName)).toEqual(['pair-math-v1', 'pair-v2', 'pair-v2']);
    expect(stub.calls[0][1].content).toContain('[The Start of Reference Answer]\nREFERENCE ONE\n[The End of Reference Answer]');
    expect(stub.calls.slice(2).some((c) => c[1].content.includes('REFERENCE'))).toBe(false);
  });

  it('a multi-turn prompt judges turn 2 with the whole conversation, and skips one-turn questions', async () => {
    const stub = new StubJudge(() => '[[A]]');
    const result = await judgePairwise({
      judge: stub,
      questions: [question(1), { questionId: 2, category: 'writing', turns: ['only one turn'] }],
      candidate: answersOf('adapter', [1, 2]),
      baseline: answersOf('base', [1, 2]),
      prompts: mtBenchPromptChoice(prompts, 'pairwise', true),
    });
    expect(result.skipped).toEqual([2]);
    expect(result.pairs.map((p) => [p.questionId, p.turn, p.promptName])).toEqual([[1, 2, 'pair-v2-multi-turn']]);
    expect(stub.calls[0][1].content).toContain('### User:\nfollow-up 1\n\n### Assistant A:\nadapter second answer 1\n\n');
    expect(stub.calls[1][1].content).toContain('### User:\nfollow-up 1\n\n### Assistant A:\nbase second answer 1\n\n');
  });

  it('cancelling keeps the questions finished; another failure rejects; a missing answer is named', async () => {
    const controller = new AbortController();
    const stub = new StubJudge((messages) => {
      if (shownAnswers(messages).a.endsWith(' 3')) {
        controller.abort(new Error('stopped by the user'));
        throw controller.signal.reason;
      }
      return '[[A]]';
    });
    const base = { questions: ids.map((id) => question(id)), candidate: answersOf('adapter', ids), baseline: answersOf('base', ids), prompts: mtBenchPromptChoice(prompts, 'pairwise', false), parallel: 1 };
    const cancelled = await judgePairwise({ ...base, judge: stub, signal: controller.signal });
    expect(cancelled.cancelled).toBe(true);
    expect(cancelled.pairs.map((p) => p.questionId)).toEqual([1, 2]);
    expect(cancelled.summary).toMatchObject({ judged: 2, tie: 2, inconsistent: 2 });

    const failing = new StubJudge(() => {
      throw new Error('device lost');
    });
    await expect(judgePairwise({ ...base, judge: failing })).rejects.toThrow('device lost');
    await expect(judgePairwise({ ...base, judge: stub, baseline: answersOf('base', [1, 2]) })).rejects.toThrow('there is no baseline answer to question 3');
  });
});

describe('single-answer grading', () => {
  it('mean rating over the parsed verdicts with its stderr; unparsable ones counted by reason', async () => {
    // The stub's reply is written inside the answer, so the grade follows the answer it was shown.
    const replies: Record<number, string> = { 1: 'Rating: [[8]]', 2: '[[6]]', 3: 'no idea', 4: 'e.g. "Rating: [[5]]". Rating: [[9]]', 5: 'Rating: [[10]]', 6: '[[0]]' };
    const stub = new StubJudge((messages) => {
      const answer = messages[1].content.split("[The Start of Assistant's Answer]\n")[1].split('\n[The End')[0];
      return replies[Number(answer.split(' ')[1])];
    });
    const ids = [1, 2, 3, 4, 5, 6];
    const answers = new Map(ids.map((id) => [id, [`answer ${id} text`]]));
    const result = await judgeSingle({ judge: stub, questions: ids.map((id) => question(id)), answers, prompts: mtBenchPromptChoice(prompts, 'single', false) });
    expect(result.grades.map((g) => (g.verdict.kind === 'rating' ? g.verdict.rating : g.verdict.reason))).toEqual([8, 6, 'no-verdict', 'conflicting', 10, 'out-of-scale']);
    expect(result.grades.map((g) => g.judgment)).toEqual(ids.map((id) => replies[id]));
    expect(stub.calls[0]).toEqual([
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: prompts.find((p) => p.name === 'single-v1')!.promptTemplate.replace('{question}', 'question 1').replace('{answer}', 'answer 1 text') },
    ]);
    // Ratings 8, 6, 10: mean 8, sample variance (0 + 4 + 4) / 2 = 4, stderr 2 / sqrt(3).
    expect(result.summary).toEqual({
      judged: 6,
      rated: 3,
      unparsable: 3,
      unparsable_reasons: { 'no-verdict': 1, conflicting: 1, 'out-of-scale': 1 },
      score: 8,
      score_stderr: 2 / Math.sqrt(3),
    });
  });

  it('multi-turn grading shows both turns; one rating has no stderr; no rating has no score', async () => {
    const stub = new StubJudge(() => '[[7]]');
    const one = await judgeSingle({ judge: stub, questions: [question(1)], answers: answersOf('adapter', [1]), prompts: mtBenchPromptChoice(prompts, 'single', true) });
    expect(one.grades[0]).toMatchObject({ turn: 2, promptName: 'single-v1-multi-turn', verdict: { kind: 'rating', rating: 7 } });
    expect(stub.calls[0][1].content).toContain('### Assistant A:\nadapter answer 1\n\n### User:\nfollow-up 1\n\n### Assistant A:\nadapter second answer 1');
    expect(one.summary).toMatchObject({ score: 7, score_stderr: null });
    const none = await judgeSingle({ judge: new StubJudge(() => '?'), questions: [question(1)], answers: answersOf('a', [1]), prompts: mtBenchPromptChoice(prompts, 'single', false) });
    expect(none.summary).toMatchObject({ rated: 0, unparsable: 1, score: null, score_stderr: null });
  });

  it('refuses prompts of the wrong mode and names a missing prompt', () => {
    expect(() => mtBenchPromptChoice(prompts.slice(0, 4), 'single', false)).toThrow('the judge prompts have no "single-v1"');
    const wrong = { general: prompts.find((p) => p.name === 'pair-v2')! };
    return expect(judgeSingle({ judge: new StubJudge(() => ''), questions: [question(1)], answers: answersOf('a', [1]), prompts: wrong })).rejects.toThrow('judge prompt "pair-v2" is pairwise, and this judgement is single');
  });
});
