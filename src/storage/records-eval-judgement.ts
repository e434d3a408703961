// An MT-Bench style judgement as IndexedDB keeps it: the optional `judgement` of an evaluation record (an
// evaluation whose only suite is a judge suite). Storage owns these shapes; they mirror the engine's judge
// results (src/engine/eval/judge/run-judge.ts, summary.ts, verdict.ts, endpoint-judge.ts) field for field
// without importing them. An endpoint's key is never part of any of them.

/** Mirror of Verdict. */
export type StoredJudgeVerdict =
  | { kind: 'rating'; rating: number }
  | { kind: 'winner'; winner: 'A' | 'B' | 'tie'; ratings?: [number, number] }
  | { kind: 'unparsable'; reason: 'no-verdict' | 'conflicting' | 'out-of-scale'; detail: string };

/** Mirror of ReasonCounts. */
export type StoredUnparsableReasons = Record<'no-verdict' | 'conflicting' | 'out-of-scale', number>;

/** Mirror of JudgePrompt: the prompt as this judgement used it (the user's edits included). */
export interface StoredJudgePrompt {
  name: string;
  type: 'single' | 'pairwise';
  systemPrompt: string;
  promptTemplate: string;
  outputFormat: '[[rating]]' | '[[A]]' | '[[rating_a,rating_b]]';
}

/** One call to the judge: the messages it was sent, its reply and the verdict read from it. */
export interface StoredJudgeCall {
  messages: { role: string; content: string }[];
  judgment: string;
  verdict: StoredJudgeVerdict;
}

/** Mirror of SingleSummary. */
export interface StoredSingleSummary {
  judged: number;
  rated: number;
  unparsable: number;
  unparsable_reasons: StoredUnparsableReasons;
  score: number | null;
  score_stderr: number | null;
}

/** Mirror of PairwiseSummary. */
export interface StoredPairwiseSummary {
  judged: number;
  win: number;
  loss: number;
  tie: number;
  inconsistent: number;
  unparsable: number;
  unparsable_games: number;
  unparsable_reasons: StoredUnparsableReasons;
  win_rate: number | null;
  win_rate_stderr: number | null;
  loss_rate: number | null;
  loss_rate_stderr: number | null;
  win_rate_adjusted: number | null;
  win_rate_adjusted_stderr: number | null;
}

/** Single-answer grading of one target's answers (index into EvalResultRecord.targets). */
export interface StoredSingleGrading {
  target: number;
  summary: StoredSingleSummary;
  grades: (StoredJudgeCall & { questionId: string; category: string })[];
}

/** Mirror of PairGame: `a` is whose answer was assistant A. */
export interface StoredPairGame extends StoredJudgeCall {
  a: 'candidate' | 'baseline';
  winner: 'candidate' | 'baseline' | 'tie' | 'error';
}

/** Pairwise judgement of one adapter (the candidate) against the base, both orders per question. */
export interface StoredPairwiseJudgement {
  target: number;
  summary: StoredPairwiseSummary;
  pairs: { questionId: string; category: string; games: [StoredPairGame, StoredPairGame]; outcome: 'win' | 'loss' | 'tie' | 'unparsable'; inconsistent: boolean }[];
}

/** Mirror of EndpointRequestRecord (never the key). */
export interface StoredEndpointRequest {
  url: string;
  model: string;
  messages: { role: string; content: string }[];
  startedAt: number;
  durationMs?: number;
  status?: number;
  reply?: string;
  error?: string;
}

export interface StoredJudgement {
  mode: 'single' | 'pairwise';
  /** 'self': the evaluated model judged its own answers; 'model': a second model Tunelab loaded; 'endpoint'. */
  judge: { kind: 'self' | 'model' | 'endpoint'; name: string };
  prompt: StoredJudgePrompt;
  /** The first turn's answers: answers[target][question], in question order. */
  questions: { id: string; category: string; question: string }[];
  answers: string[][];
  maxNewTokens: number;
  judgeMaxNewTokens: number;
  single?: StoredSingleGrading[];
  pairwise?: StoredPairwiseJudgement[];
  /** Every request an endpoint judge sent, in order. */
  requests?: StoredEndpointRequest[];
}
