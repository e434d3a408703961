// Retention: the perplexity of general text kept aside, whose change from the base measures forgetting.
// Each text is [prefix token] + its tokens without special tokens (the prefix is BOS, else EOS, as the
// harness's prefix_token_id), and every text token is scored given all before it, in the harness's
// disjoint rolling windows when the text is longer than the context (loglikelihood-rolling.ts). Unlike
// HFLM.loglikelihood_rolling we do not let the tokenizer add its own BOS after the prefix token: that
// would score a BOS predicted after a BOS, which no text contains.
// Scores: token perplexity and bits per UTF-8 byte over the whole set, with the ratio estimators' standard
// errors of retention-stats.ts; each document's NLL and token count stay in its outcome, for the paired
// before/after change.

import { prefixTokenId } from './encode-pair';
import { ProgressTracker } from './eval-progress';
import { SequencePool } from './loglikelihood';
import { scoreTexts } from './loglikelihood-rolling';
import { bitsPerByte, perplexity, type DocumentNll } from './retention-stats';
import type { EvalModel, ItemOutcome, KindResult, RunContext } from './run-types';
import type { RetentionItem, RetentionSuiteSpec, SuiteScores } from './suite-types';

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** A retention outcome's document numbers (detail), or undefined when the item was not scored. */
export function documentNll(outcome: ItemOutcome): DocumentNll | undefined {
  const d = outcome.detail;
  if (!d || typeof d.nll !== 'number' || typeof d.tokens !== 'number') return undefined;
  return { nll: d.nll, tokens: d.tokens, bytes: typeof d.bytes === 'number' ? d.bytes : undefined };
}

export async function runRetention(spec: RetentionSuiteSpec, items: readonly RetentionItem[], model: EvalModel, ctx: RunContext): Promise<KindResult> {
  const { lm, tokenizer } = model;
  const maxLength = Math.min(spec.options.maxTokensPerText ?? lm.config.maxPositions, lm.config.maxPositions);
  const prefix = prefixTokenId(tokenizer);
  const progress = new ProgressTracker(items.length, ctx.onProgress);
  const outcomes: ItemOutcome[] = [];
  const docs: DocumentNll[] = [];
  const batchSize = Math.max(1, ctx.batchSize);
  let cancelled = false;
  // One scoreTexts call per batch (a cancel keeps every finished batch), all sharing one pool of KV caches.
  const sequences = new SequencePool(lm);
  try {
    for (let start = 0; start < items.length; start += batchSize) {
      if (ctx.signal?.aborted) {
        cancelled = true;
        break;
      }
      const batch = items.slice(start, start + batchSize);
      const encoded = batch.map((item) => [prefix, ...tokenizer.encode(item.text, { addSpecialTokens: false })]);
      const scorable = encoded.map((ids) => ids.length >= 2);
      const scores = await scoreTexts(
        lm,
        encoded.filter((_, k) => scorable[k]),
        { maxLength, batchItems: batchSize, sequences },
      );
      let next = 0;
      batch.forEach((item, k) => {
        if (!scorable[k]) {
          outcomes.push({ id: item.id, scores: {}, error: 'the text has no tokens to score' });
          return;
        }
        const s = scores[next++];
        const doc: DocumentNll = { nll: -s.logLikelihood, tokens: s.tokens, bytes: utf8Bytes(item.text) };
        docs.push(doc);
        outcomes.push({ id: item.id, scores: {}, detail: { ...doc, perplexity: Math.exp(doc.nll / doc.tokens) } });
      });
      progress.update(start + batch.length);
    }
  } finally {
    sequences.releaseAll();
  }
  const scores: SuiteScores = docs.length > 0 ? { 'perplexity,none': perplexity(docs), 'bits_per_byte,none': bitsPerByte(docs) } : {};
  return { scores, items: outcomes, cancelled };
}
