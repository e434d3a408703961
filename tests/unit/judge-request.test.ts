// The Judge form's request building (src/state/judge-request.ts) and the worker's stored-record conversion
// (src/worker/eval-judge-record.ts): which judge source each choice makes, that the key goes only into an
// endpoint request, the first problem of a bad form, the question limit and references, and that a stored
// pairwise judgement keeps both games, messages and summary while the list's view drops them.

import { describe, expect, it } from 'vitest';
import type { PairResult } from '../../src/engine/eval/judge/run-judge';
import { summarizePairwise } from '../../src/engine/eval/judge/summary';
import { judgementRequest, type JudgeForm } from '../../src/state/judge-request';
import type { EvalResultRecord } from '../../src/storage/records';
import { judgeQuestions, judgementSummary, storedPairs, storedRequest } from '../../src/worker/eval-judge-record';

const PROMPT = { name: 'pair-v2', type: 'pairwise' as const, systemPrompt: 'Judge.', promptTemplate: '{question} {answer_a} {answer_b}', outputFormat: '[[A]]' as const };

function form(over: Partial<JudgeForm> = {}): JudgeForm {
  return {
    name: '',
    suiteId: 's1',
    mode: 'pairwise',
    prompt: PROMPT,
    judge: 'self',
    offlineId: '',
    hubId: '',
    hubEndpoint: 'https://hf.example',
    weightFormat: 'f16',
    endpointUrl: '',
    endpointModel: '',
    apiKey: '',
    adapterIds: ['a1'],
    limit: 3,
    maxNewTokens: 8,
    judgeMaxNewTokens: 16,
    ...over,
  };
}

describe('judgementRequest', () => {
  it('builds each judge source from the form', () => {
    const self = judgementRequest(form());
    expect(self).toEqual({ name: '', suiteId: 's1', mode: 'pairwise', prompt: PROMPT, judge: { type: 'self' }, adapterIds: ['a1'], limit: 3, maxNewTokens: 8, judgeMaxNewTokens: 16 });
    expect(judgementRequest(form({ judge: 'offline', offlineId: 'stories260K' }))).toMatchObject({ judge: { type: 'model', model: { kind: 'offline', id: 'stories260K' }, weightFormat: 'f16', label: 'stories260K' } });
    expect(judgementRequest(form({ judge: 'hub', hubId: ' Qwen/Qwen2.5-0.5B-Instruct ' }))).toMatchObject({
      judge: { type: 'model', model: { kind: 'hub', id: 'Qwen/Qwen2.5-0.5B-Instruct', revision: 'main', endpoint: 'https://hf.example' }, label: 'Qwen/Qwen2.5-0.5B-Instruct' },
    });
    // The demo is always f32, as the Model page loads it.
    expect(judgementRequest(form({ judge: 'demo' }))).toMatchObject({ judge: { type: 'model', model: { kind: 'demo' }, weightFormat: 'f32' } });
    const endpoint = judgementRequest(form({ judge: 'endpoint', endpointUrl: ' https://api.example/v1 ', endpointModel: 'gpt-4o', apiKey: 'sk-1' }));
    expect(endpoint).toMatchObject({ judge: { type: 'endpoint', url: 'https://api.example/v1', model: 'gpt-4o', apiKey: 'sk-1' } });
    // The key goes into an endpoint request only.
    expect(JSON.stringify(judgementRequest(form({ judge: 'self', apiKey: 'sk-secret' })))).not.toContain('sk-secret');
    expect(judgementRequest(form({ limit: null }))).not.toHaveProperty('limit');
  });

  it('names the first problem of a bad form', () => {
    const problem = (over: Partial<JudgeForm>) => (judgementRequest(form(over)) as { problem?: string }).problem;
    expect(problem({ suiteId: null })).toMatch(/judge questions/);
    expect(problem({ prompt: null })).toMatch(/judge prompts/);
    expect(problem({ mode: 'single' })).toBe('The prompt "pair-v2" is pairwise: choose a single prompt.');
    expect(problem({ adapterIds: [] })).toMatch(/at least one adapter/);
    expect(problem({ limit: 0 })).toMatch(/question limit/);
    expect(problem({ maxNewTokens: 2.5 })).toMatch(/Answer tokens/);
    expect(problem({ judgeMaxNewTokens: 0 })).toMatch(/Judgment tokens/);
    expect(problem({ judge: 'offline' })).toMatch(/offline folder/);
    expect(problem({ judge: 'hub', hubId: '  ' })).toMatch(/Hub id/);
    expect(problem({ judge: 'endpoint', endpointUrl: 'https://x/v1' })).toMatch(/model name/);
  });
});

describe('stored judgements', () => {
  it('limits the questions and keeps the references of those that have them', () => {
    const items = [
      { id: '81', category: 'writing', turns: ['q1', 'q1b'] },
      { id: '111', category: 'math', turns: ['q2'], references: ['r2'] },
      { id: '112', category: 'math', turns: ['q3'], references: ['r3'] },
    ];
    const { questions, references } = judgeQuestions(items, 2);
    expect(questions).toEqual([
      { questionId: '81', category: 'writing', turns: ['q1', 'q1b'] },
      { questionId: '111', category: 'math', turns: ['q2'] },
    ]);
    expect([...references]).toEqual([['111', ['r2']]]);
  });

  it('keeps both games of each pair, and the list drops them but not the counts', () => {
    const game = (a: 'candidate' | 'baseline', judgment: string, winner: 'A' | 'B' | null) => ({
      a,
      messages: [{ role: 'system' as const, content: 'Judge.' }, { role: 'user' as const, content: `q ${a}` }],
      judgment,
      verdict: winner ? { kind: 'winner' as const, winner } : { kind: 'unparsable' as const, reason: 'no-verdict' as const, detail: 'no [[A]], [[B]] or [[C]]' },
      winner: winner === null ? ('error' as const) : winner === 'A' ? a : a === 'candidate' ? ('baseline' as const) : ('candidate' as const),
    });
    const pairs: PairResult[] = [
      { questionId: 81, category: 'writing', turn: 1, promptName: 'pair-v2', games: [game('candidate', '[[A]]', 'A'), game('baseline', '[[B]]', 'B')], outcome: 'win', inconsistent: false },
      { questionId: 82, category: 'writing', turn: 1, promptName: 'pair-v2', games: [game('candidate', 'once upon', null), game('baseline', '[[A]]', 'A')], outcome: 'unparsable', inconsistent: false },
    ];
    const summary = summarizePairwise(pairs, pairs.flatMap((p) => p.games.map((g) => g.verdict)));
    const stored = storedPairs(1, pairs, summary);
    expect(stored.summary).toMatchObject({ judged: 2, win: 1, loss: 0, tie: 0, unparsable: 1, unparsable_games: 1, win_rate: 1 });
    expect(stored.pairs.map((p) => [p.questionId, p.outcome, p.games.map((g) => [g.a, g.winner, g.judgment])])).toEqual([
      ['81', 'win', [['candidate', 'candidate', '[[A]]'], ['baseline', 'candidate', '[[B]]']]],
      ['82', 'unparsable', [['candidate', 'error', 'once upon'], ['baseline', 'baseline', '[[A]]']]],
    ]);
    expect(stored.pairs[1].games[0].messages).toEqual([{ role: 'system', content: 'Judge.' }, { role: 'user', content: 'q candidate' }]);

    const request = storedRequest({ url: 'https://x/v1/chat/completions', model: 'm', messages: [{ role: 'user', content: 'hi' }], startedAt: 5, status: 200, reply: '[[A]]', durationMs: 3 });
    const record = {
      id: 'j1',
      name: 'mt-bench judged',
      createdAt: '2025-01-01T00:00:00.000Z',
      targets: [{ kind: 'base' }, { kind: 'adapter', adapterId: 'a1', adapterName: 'story adapter' }],
      status: 'completed',
      judgement: {
        mode: 'pairwise',
        judge: { kind: 'endpoint', name: 'm via https://x' },
        prompt: PROMPT,
        questions: [{ id: '81', category: 'writing', question: 'q1' }, { id: '82', category: 'writing', question: 'q2' }],
        answers: [['b1', 'b2'], ['a1', 'a2']],
        maxNewTokens: 8,
        judgeMaxNewTokens: 16,
        pairwise: [stored],
        requests: [request],
      },
    } as unknown as EvalResultRecord;
    const listed = judgementSummary(record)!;
    expect(listed).toEqual({ id: 'j1', name: 'mt-bench judged', createdAt: record.createdAt, status: 'completed', mode: 'pairwise', judgeName: 'm via https://x', questions: 2, targets: ['base', 'story adapter'], pairwise: [{ target: 1, summary: stored.summary }] });
    expect(judgementSummary({ ...record, judgement: undefined })).toBeNull();
    expect(request).toEqual({ url: 'https://x/v1/chat/completions', model: 'm', messages: [{ role: 'user', content: 'hi' }], startedAt: 5, durationMs: 3, status: 200, reply: '[[A]]' });
  });
});
