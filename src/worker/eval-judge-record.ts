// What a judgement stores and lists: the engine's grades and pairs turned into the storage record's plain
// shapes (questions by their suite ids, messages copied, turn and prompt name dropped: one prompt judges
// every question's first turn), and the light summary the page lists.

import type { EndpointRequestRecord } from '../engine/eval/judge/endpoint-judge';
import type { JudgePrompt, JudgeQuestion, QuestionId } from '../engine/eval/judge/records';
import type { PairResult, SingleGrade } from '../engine/eval/judge/run-judge';
import type { PairwiseSummary, SingleSummary } from '../engine/eval/judge/summary';
import type {
  EvalResultRecord,
  StoredEndpointRequest,
  StoredJudgeCall,
  StoredJudgeItem,
  StoredJudgePrompt,
  StoredPairwiseJudgement,
  StoredSingleGrading,
} from '../storage/records';
import type { JudgementSummary } from './protocol-judge';

/** The first `limit` questions of a judge suite, and the reference answers of those that have them. */
export function judgeQuestions(items: readonly StoredJudgeItem[], limit: number | undefined): { questions: JudgeQuestion[]; references: Map<QuestionId, string[]> } {
  const chosen = items.slice(0, limit ?? items.length);
  return {
    questions: chosen.map((i) => ({ questionId: i.id, category: i.category, turns: [...i.turns] })),
    references: new Map(chosen.flatMap((i) => (i.references ? [[i.id, [...i.references]] as [QuestionId, string[]]] : []))),
  };
}

export function storedPrompt(p: JudgePrompt): StoredJudgePrompt {
  return { name: p.name, type: p.type, systemPrompt: p.systemPrompt, promptTemplate: p.promptTemplate, outputFormat: p.outputFormat };
}

function call(c: { messages: readonly { role: string; content: string }[]; judgment: string; verdict: StoredJudgeCall['verdict'] }): StoredJudgeCall {
  return { messages: c.messages.map((m) => ({ role: m.role, content: m.content })), judgment: c.judgment, verdict: { ...c.verdict } as StoredJudgeCall['verdict'] };
}

export function storedGrading(target: number, grades: readonly SingleGrade[], summary: SingleSummary): StoredSingleGrading {
  return { target, summary: { ...summary }, grades: grades.map((g) => ({ questionId: String(g.questionId), category: g.category, ...call(g) })) };
}

export function storedPairs(target: number, pairs: readonly PairResult[], summary: PairwiseSummary): StoredPairwiseJudgement {
  return {
    target,
    summary: { ...summary },
    pairs: pairs.map((p) => ({
      questionId: String(p.questionId),
      category: p.category,
      games: p.games.map((g) => ({ a: g.a, winner: g.winner, ...call(g) })) as StoredPairwiseJudgement['pairs'][number]['games'],
      outcome: p.outcome,
      inconsistent: p.inconsistent,
    })),
  };
}

export function storedRequest(r: EndpointRequestRecord): StoredEndpointRequest {
  const { url, model, messages, startedAt, durationMs, status, reply, error } = r;
  return {
    url,
    model,
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    startedAt,
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(reply !== undefined ? { reply } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

/** The list's view of a stored judgement; null for a before/after evaluation. */
export function judgementSummary(record: Omit<EvalResultRecord, 'results'>): JudgementSummary | null {
  const j = record.judgement;
  if (!j) return null;
  return {
    id: record.id,
    name: record.name,
    createdAt: record.createdAt,
    status: record.status,
    ...(record.message !== undefined ? { message: record.message } : {}),
    mode: j.mode,
    judgeName: j.judge.name,
    questions: j.questions.length,
    targets: record.targets.map((t) => (t.kind === 'base' ? 'base' : t.adapterName)),
    ...(j.pairwise ? { pairwise: j.pairwise.map((p) => ({ target: p.target, summary: p.summary })) } : {}),
    ...(j.single ? { single: j.single.map((s) => ({ target: s.target, summary: s.summary })) } : {}),
  };
}
