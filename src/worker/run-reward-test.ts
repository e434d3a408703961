// The Train page's "Test on samples": reward functions run on a few completions before a GRPO run, so a
// wrong pattern or a throwing custom function shows up before any GPU time is spent. The samples' prompts
// and fields are the chosen dataset's first held-out prompts (its first prompts when none is held out); the
// completions are the loaded model's own (sampled as the run would, one per prompt, without an adapter) or
// ones the user typed. Custom rewards run in the same sandbox, with the same time limit, as in a run.

import type { CodeSandbox } from '../engine/eval/sandbox';
import { generate } from '../engine/model/generate';
import type { PromptExample } from '../engine/data/tokenize-prompts';
import { testRewards, type RewardInput } from '../engine/train/grpo/rewards';
import { missingTokenizerError } from '../engine/model/tokenizer';
import { getDataset } from '../storage/datasets-store';
import type { RewardTestReport, RewardTestRequest } from './protocol-runs';
import { grpoPrompts } from './run-grpo-data';
import { ROLLOUT_TEXT_CHARS } from './run-rollouts';
import { openRewardSet } from './run-rewards';
import type { WorkerDeps } from './worker-deps';

/** Most samples one test scores. */
export const MAX_REWARD_TEST_SAMPLES = 8;

const cut = (text: string) => (text.length <= ROLLOUT_TEXT_CHARS ? text : `${text.slice(0, ROLLOUT_TEXT_CHARS)}…`);

/** The dataset's first `count` held-out prompts (or training prompts when none is held out); none without a dataset. */
async function samplePrompts(deps: WorkerDeps, datasetId: string | null, count: number): Promise<PromptExample[]> {
  if (datasetId === null) return [];
  const active = deps.models.active;
  if (!active) throw new Error('No model is loaded: load one on the Model page to read the dataset\'s prompts with its tokenizer.');
  if (!active.tokenizer) throw missingTokenizerError(active.info.source);
  // Only the prompts a test reads are tokenized, not the whole dataset.
  const prompts = grpoPrompts(await getDataset(await deps.db(), datasetId), active.tokenizer, count);
  const pool = prompts.eval.examples.length > 0 ? prompts.eval.examples : prompts.train.examples;
  return pool.slice(0, count);
}

/** One completion per prompt from the loaded model, sampled as a GRPO run samples (the model reserved meanwhile). */
async function modelCompletions(deps: WorkerDeps, prompts: readonly PromptExample[], request: RewardTestRequest): Promise<{ text: string; tokens: number; truncated: boolean }[]> {
  if (prompts.length === 0) throw new Error('Choose a dataset with prompts: the model writes its completions from them.');
  const active = deps.models.active!;
  const claim = deps.models.claim('The reward functions are being tested on this model: wait a moment.');
  try {
    const s = request.sampling;
    const results = await generate(
      active.model,
      prompts.map((p) => p.prompt),
      { maxNewTokens: s.maxCompletionLength, temperature: s.temperature, topP: s.topP, topK: s.topK, stopStrings: s.stopStrings, doSample: true, seed: request.seed },
      { tokenizer: active.tokenizer },
    );
    return results.map((r) => ({ text: r.text ?? '', tokens: r.tokens.length, truncated: r.finishReason === 'length' }));
  } finally {
    claim.release();
  }
}

export async function runRewardTest(deps: WorkerDeps, sandbox: () => CodeSandbox, request: RewardTestRequest): Promise<RewardTestReport> {
  const typed = request.completions;
  if (typed !== undefined && typed.length === 0) throw new Error('Type at least one completion to score, or let the model write them.');
  const count = typed?.length ?? request.count;
  if (!Number.isInteger(count) || count < 1 || count > MAX_REWARD_TEST_SAMPLES) {
    throw new RangeError(`A test scores 1 to ${MAX_REWARD_TEST_SAMPLES} completions, got ${count}.`);
  }
  // The specs are checked (and custom code compiled) before the model spends time writing.
  const rewards = await openRewardSet(request.rewards, request.rewardTimeLimitMs, sandbox);
  try {
    const prompts = await samplePrompts(deps, request.datasetId, count);
    const tokenizer = deps.models.active?.tokenizer;
    const completions = typed
      ? typed.map((text) => ({ text, tokens: tokenizer ? tokenizer.encode(text, { addSpecialTokens: false }).length : 0, truncated: false }))
      : await modelCompletions(deps, prompts, request);
    const inputs: RewardInput[] = completions.map((c, i) => {
      const prompt = prompts.length > 0 ? prompts[i % prompts.length] : undefined;
      return { prompt: prompt?.promptText ?? '', completion: c.text, example: prompt?.fields ?? {}, completionTokens: c.tokens, truncated: c.truncated };
    });
    const result = await testRewards(rewards.set, inputs);
    return {
      names: result.names,
      weights: result.weights,
      rows: result.rows.map((row, i) => ({
        prompt: cut(inputs[i].prompt),
        completion: cut(inputs[i].completion),
        truncated: inputs[i].truncated,
        values: row.values,
        total: row.total,
        errors: row.errors.map((e) => e ?? null),
      })),
      errorCount: result.errorCount,
    };
  } finally {
    rewards.dispose();
  }
}
