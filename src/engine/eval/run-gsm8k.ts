// GSM8K: generations from each item's k-shot context (greedy by default, as gsm8k.yaml), cut at the stop
// sequences, then the harness's strict and flexible answer extraction and exact match (suites/gsm8k.ts).
// With several samples per item the harness's filters keep the first response ("take_first"), so the
// first sample is scored and every sample is kept in the outcome.

import { ProgressTracker } from './eval-progress';
import { generateForItems } from './run-generation';
import type { EvalModel, ItemOutcome, KindResult, RunContext } from './run-types';
import type { Gsm8kItem, Gsm8kSuiteSpec } from './suite-types';
import { gsm8kMetrics, scoreGsm8k, truncateAtStop, type Gsm8kItemResult } from './suites/gsm8k';

export async function runGsm8k(spec: Gsm8kSuiteSpec, items: readonly Gsm8kItem[], model: EvalModel, ctx: RunContext): Promise<KindResult> {
  const { generation, exactMatch } = spec.options;
  const progress = new ProgressTracker(items.length, ctx.onProgress);
  const generated = await generateForItems(
    model,
    items.map((item) => item.context),
    generation,
    ctx,
    progress,
  );
  const results: Gsm8kItemResult[] = [];
  const outcomes: ItemOutcome[] = generated.samples.map((samples, i) => {
    // generate() already cuts at the stop strings; the cut again is a no-op that keeps the harness's rule explicit.
    const texts = samples.map((s) => truncateAtStop(s.text, generation.stop));
    const scored = scoreGsm8k(texts[0], items[i].answer, exactMatch);
    results.push(scored);
    return {
      id: items[i].id,
      output: texts[0],
      ...(texts.length > 1 ? { outputs: texts } : {}),
      scores: { 'exact_match,strict-match': scored.strictCorrect, 'exact_match,flexible-extract': scored.flexibleCorrect },
      detail: { strict: scored.strict, flexible: scored.flexible, finishReason: samples[0].finishReason, promptTokensDropped: generated.truncated[i] },
    };
  });
  return { scores: results.length > 0 ? gsm8kMetrics(results) : {}, items: outcomes, cancelled: generated.cancelled };
}
