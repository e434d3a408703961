// Task suites: generations from each item's prompt (greedy, or seeded samples), scored against the item's
// reference with the suite's metrics (normalised exact match, contains, ROUGE-L F1, a format regex, a custom
// JavaScript metric run in the sandbox), plus, when asked, the loss and perplexity of the references given
// the prompts. With several samples per item an item's metric is the mean over its samples (the expected
// score of one sample). A custom metric that fails on an item leaves that item without the metric and
// keeps the message; the suite's value is the mean over the items that have it.
//
// Metric keys: exact_match, contains, rougeL, regex_match, <custom name> (all ",none"); loss (mean NLL
// per reference token) and perplexity, token-weighted over the whole set with retention-stats.ts's errors.

import { runCustomMetric } from './custom-metric';
import { encodeContinuation } from './encode-pair';
import { errorMessage, ProgressTracker } from './eval-progress';
import { scoreContinuations, SequencePool } from './loglikelihood';
import { meanWithStderr } from './metrics/mean-stderr';
import { rougeL } from './metrics/rouge-l';
import { compileUserRegex, containsReference, exactMatch, regexMatch } from './metrics/text-metrics';
import { logPerplexity, perplexity, type DocumentNll } from './retention-stats';
import { encodePrompt, generateForItems } from './run-generation';
import type { EvalModel, ItemOutcome, KindResult, RunContext } from './run-types';
import type { SuiteScores, TaskItem, TaskSuiteSpec } from './suite-types';
import { ChatTemplate } from '../model/chat-template';

const mean = (values: readonly number[]) => values.reduce((s, v) => s + v, 0) / values.length;

/** The built-in metrics of one output, by key. `prompt` is for a regex matched against prompt + output. */
function textScores(spec: TaskSuiteSpec, item: TaskItem, output: string, regex: RegExp | undefined, regexOnPrompt: boolean): Record<string, number> {
  const m = spec.options.metrics;
  const scores: Record<string, number> = {};
  if (m.exactMatch) scores['exact_match,none'] = exactMatch(output, item.reference);
  if (m.contains) scores['contains,none'] = containsReference(output, item.reference);
  if (m.rougeL) scores['rougeL,none'] = rougeL(item.reference, output).fmeasure;
  if (regex) scores['regex_match,none'] = regexMatch(regexOnPrompt && typeof item.prompt === 'string' ? item.prompt + output : output, regex);
  return scores;
}

/** Mean over the samples of each key. */
function meanScores(perSample: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(perSample[0] ?? {})) out[key] = mean(perSample.map((s) => s[key]));
  return out;
}

/** Reference ids after the prompt: the harness's pair encoding for text, the template's ids then the reference for chat. */
function referenceRequest(model: EvalModel, item: TaskItem, template: () => ChatTemplate): { context: number[]; continuation: number[] } {
  if (typeof item.prompt === 'string') return encodeContinuation(model.tokenizer, item.prompt, item.reference);
  const continuation = model.tokenizer.encode(item.reference, { addSpecialTokens: false });
  if (continuation.length === 0) throw new Error('the reference has no tokens');
  return { context: encodePrompt(model, item.prompt, template), continuation };
}

export async function runTask(spec: TaskSuiteSpec, items: readonly TaskItem[], model: EvalModel, ctx: RunContext): Promise<KindResult> {
  const { generation, metrics, perplexity: wantPerplexity } = spec.options;
  const custom = metrics.customMetric;
  if (custom && !ctx.sandbox) throw new Error(`suite ${spec.name}: the custom metric "${custom.name}" runs in a code sandbox, and none was given`);
  const regex = metrics.regex ? compileUserRegex(metrics.regex.pattern, metrics.regex.flags) : undefined;
  // An optional `target: 'prompt+output'` on the regex matches it against the prompt followed by the output
  // (backreferences into the prompt: "the story opens in the prompt's own setting").
  const regexOnPrompt = (metrics.regex as { target?: string } | undefined)?.target === 'prompt+output';
  const phases = 1 + (wantPerplexity ? 1 : 0) + (custom ? 1 : 0);
  const progress = new ProgressTracker(phases * items.length, ctx.onProgress);

  const generated = await generateForItems(model, items.map((i) => i.prompt), generation, ctx, progress);
  const n = generated.samples.length;
  const outcomes: ItemOutcome[] = generated.samples.map((samples, i) => {
    const texts = samples.map((s) => s.text);
    return {
      id: items[i].id,
      output: texts[0],
      ...(texts.length > 1 ? { outputs: texts } : {}),
      scores: meanScores(texts.map((t) => textScores(spec, items[i], t, regex, regexOnPrompt))),
      detail: { finishReason: samples[0].finishReason, promptTokensDropped: generated.truncated[i] },
    };
  });
  const textKeys = n > 0 ? Object.keys(outcomes[0].scores) : [];
  let cancelled = generated.cancelled;
  let done = items.length;

  const docs: (DocumentNll | undefined)[] = [];
  if (wantPerplexity && !cancelled) {
    let template: ChatTemplate | undefined;
    const chat = () => (template ??= new ChatTemplate(model.tokenizer.tokenizerConfig));
    const batchSize = Math.max(1, ctx.batchSize);
    // One scoring call per batch (a cancel keeps every finished batch), all sharing one pool of KV caches.
    const sequences = new SequencePool(model.lm);
    try {
      for (let start = 0; start < n; start += batchSize) {
        if (ctx.signal?.aborted) {
          cancelled = true;
          break;
        }
        const requests = outcomes.slice(start, start + batchSize).map((o, k) => {
          try {
            return referenceRequest(model, items[start + k], chat);
          } catch (err) {
            o.error = `reference loss: ${errorMessage(err)}`;
            return undefined;
          }
        });
        const ok = requests.flatMap((r, k) => (r ? [k] : []));
        const scores = ok.length
          ? await scoreContinuations(model.lm, ok.map((k) => ({ context: requests[k]!.context, continuations: [requests[k]!.continuation] })), { shareContext: false, batchItems: batchSize, sequences })
          : [];
        requests.forEach((_, k) => (docs[start + k] = undefined));
        ok.forEach((k, j) => {
          const [s] = scores[j];
          const doc = { nll: -s.logLikelihood, tokens: s.tokens };
          docs[start + k] = doc;
          Object.assign(outcomes[start + k].detail!, { nll: doc.nll, tokens: doc.tokens });
        });
        progress.update(done + Math.min(n, start + batchSize));
      }
    } finally {
      sequences.releaseAll();
    }
    done += items.length;
  }

  const customScores: (number | undefined)[] = [];
  if (custom && ctx.sandbox && !cancelled) {
    const result = await runCustomMetric(
      ctx.sandbox,
      custom.source,
      outcomes.map((o, i) => ({ output: o.output ?? '', item: items[i].record ?? { prompt: items[i].prompt, reference: items[i].reference } })),
      { timeLimitMs: custom.timeoutMs, signal: ctx.signal, onItemDone: (k) => progress.update(done + k) },
    );
    cancelled = result.cancelled;
    result.scores.forEach((score, i) => {
      customScores[i] = score;
      if (score !== undefined) outcomes[i].scores[`${custom.name},none`] = score;
      else outcomes[i].error = `${custom.name}: ${result.errors[i]}`;
    });
  }

  const scores: SuiteScores = {};
  if (n > 0) {
    for (const key of textKeys) scores[key] = meanWithStderr(outcomes.map((o) => o.scores[key]));
    const scoredCustom = customScores.filter((s): s is number => s !== undefined);
    if (custom && scoredCustom.length > 0) scores[`${custom.name},none`] = meanWithStderr(scoredCustom);
    const scoredDocs = docs.filter((d): d is DocumentNll => d !== undefined);
    if (scoredDocs.length > 0) {
      scores['loss,none'] = logPerplexity(scoredDocs);
      scores['perplexity,none'] = perplexity(scoredDocs);
    }
  }
  return { scores, items: outcomes, cancelled };
}
