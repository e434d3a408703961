// Multiple choice by log-likelihood, as lm-evaluation-harness scores it: every choice is encoded after the
// item's context with the harness's _encode_pair (encode-pair.ts), all choices of an item are scored in one
// request whose shared context runs once (loglikelihood.ts, shareContext), and acc / acc_norm come from the
// summed log-likelihoods (suites/multiple-choice-metrics.ts). An item that cannot be encoded (a choice that
// adds no token) keeps its error and is left out of the scores; the others still count.

import { encodeContinuation } from './encode-pair';
import { errorMessage, ProgressTracker } from './eval-progress';
import { scoreContinuations, SequencePool, type ContinuationRequest, type ContinuationScore } from './loglikelihood';
import type { EvalModel, ItemOutcome, KindResult, RunContext } from './run-types';
import type { MultipleChoiceItem, MultipleChoiceSuiteSpec, SuiteScores } from './suite-types';
import { multipleChoiceMetrics } from './suites/multiple-choice-metrics';

const sameIds = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((t, i) => t === b[i]);

/** The item's request: one context (the same for every choice, since only the context's own whitespace moves) and each choice's ids. */
export function multipleChoiceRequest(model: EvalModel, item: MultipleChoiceItem): ContinuationRequest {
  if (item.choices.length < 2) throw new Error(`item ${item.id} has ${item.choices.length} choice(s); multiple choice needs at least 2`);
  if (!Number.isInteger(item.gold) || item.gold < 0 || item.gold >= item.choices.length) {
    throw new Error(`item ${item.id}: gold ${item.gold} is not one of its ${item.choices.length} choices`);
  }
  const pairs = item.choices.map((choice) => encodeContinuation(model.tokenizer, item.context, choice));
  const context = pairs[0].context;
  pairs.forEach((p, j) => {
    if (!sameIds(p.context, context)) throw new Error(`item ${item.id}: choice ${j} encodes its context differently from choice 0`);
  });
  return { context, continuations: pairs.map((p) => p.continuation) };
}

function chosenText(item: MultipleChoiceItem, index: number): string {
  const c = item.choices[index];
  return c.startsWith(item.targetDelimiter) ? c.slice(item.targetDelimiter.length) : c;
}

/** Keeps the metrics the suite asks for, under their "metric,none" keys. */
function pickMetrics(scores: SuiteScores, wanted: readonly string[]): SuiteScores {
  return Object.fromEntries(Object.entries(scores).filter(([key]) => wanted.includes(key.split(',')[0])));
}

export async function runMultipleChoice(spec: MultipleChoiceSuiteSpec, items: readonly MultipleChoiceItem[], model: EvalModel, ctx: RunContext): Promise<KindResult> {
  const wanted = spec.options.metrics;
  const progress = new ProgressTracker(items.length, ctx.onProgress);
  const requests: (ContinuationRequest | Error)[] = items.map((item) => {
    try {
      return multipleChoiceRequest(model, item);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  });

  const scored: (ContinuationScore[] | undefined)[] = new Array(items.length);
  const batchSize = Math.max(1, ctx.batchSize);
  let cancelled = false;
  let finished = 0;
  // One scoreContinuations call per batch of items (one submit each), so a cancel keeps every finished batch;
  // the calls share one pool of KV caches.
  const sequences = new SequencePool(model.lm);
  try {
    for (let start = 0; start < items.length; start += batchSize) {
      if (ctx.signal?.aborted) {
        cancelled = true;
        break;
      }
      const indices: number[] = [];
      for (let i = start; i < Math.min(items.length, start + batchSize); i++) if (!(requests[i] instanceof Error)) indices.push(i);
      if (indices.length > 0) {
        const requested = indices.map((i) => requests[i] as ContinuationRequest);
        const scores = await scoreContinuations(model.lm, requested, { shareContext: true, batchItems: batchSize, sequences });
        indices.forEach((i, k) => (scored[i] = scores[k]));
      }
      finished = Math.min(items.length, start + batchSize);
      progress.update(finished);
    }
  } finally {
    sequences.releaseAll();
  }

  const done = items.slice(0, finished);
  const okIndices = done.map((_, i) => i).filter((i) => scored[i] !== undefined);
  const metrics = okIndices.length > 0 ? multipleChoiceMetrics(okIndices.map((i) => items[i]), okIndices.map((i) => scored[i]!.map((s) => s.logLikelihood))) : undefined;
  const perItem = new Map(okIndices.map((i, k) => [i, metrics!.perItem[k]]));
  const outcomes: ItemOutcome[] = done.map((item, i) => {
    const request = requests[i];
    if (request instanceof Error) return { id: item.id, scores: {}, error: errorMessage(request) };
    const r = perItem.get(i)!;
    const s = scored[i]!;
    const itemScores: Record<string, number> = {};
    if (wanted.includes('acc')) itemScores['acc,none'] = r.acc;
    if (wanted.includes('acc_norm')) itemScores['acc_norm,none'] = r.accNorm;
    return {
      id: item.id,
      output: chosenText(item, r.pred),
      scores: itemScores,
      detail: {
        logLikelihoods: s.map((c) => c.logLikelihood),
        tokens: s.map((c) => c.tokens),
        greedy: s.map((c) => c.greedy),
        pred: r.pred,
        predNorm: r.predNorm,
        gold: item.gold,
      },
    };
  });
  return { scores: metrics ? pickMetrics(metrics.scores, wanted) : {}, items: outcomes, cancelled };
}
