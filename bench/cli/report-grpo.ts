// The GRPO section of the report (bench/core/grpo-bench.ts): the JSON record of each model's GRPO steps and
// its table.

import type { OursReport } from '../core/types';
import { fmt, pct, softwareMark, table } from './format';

export const GRPO_NOTE =
  'one GRPO step through the product path (runGrpoTraining over LiveRolloutSource, the policy = the GPU model with the training adapter attached): ' +
  'sample prompts x G completions in one batched decode, score them (built-in rewards), train on them (one submit); warm-up steps untimed. ' +
  "step_s = the training loop's own step time (tokens / its tokens_per_s: rollouts + rewards + training); rollout_s and reward_s = the step's rollout_seconds " +
  'and reward_seconds metrics; train_s = the rest (packing, forward + backward over prompt + completion, AdamW, loss read back). ' +
  'rollout tokens/s = generated tokens / rollout seconds (rollout_tokens_per_s); train tokens/s = input positions (prompt + completion) / train seconds; ' +
  'shares = sums over the timed steps / summed step time. decode = plain greedy generate() of the same prompts x G on the same model (adapter attached), ' +
  'max_completion_length tokens each (EOS ignored), timed after each timed step outside it; rollout_vs_decode = rollout tokens/s / greedy tokens/s ' +
  '(below 1: sampling, entropy and text decoding cost more per token than greedy decoding).';

export interface GrpoStepJson {
  step: number;
  step_s: number;
  rollout_s: number;
  reward_s: number;
  train_s: number;
  generated_tokens: number;
  tokens: number;
  trained_tokens: number;
  loss: number;
  reward: number | null;
}

export interface GrpoRunJson {
  model: string;
  description: string;
  method: string | null;
  prompts: number;
  generations: number;
  prompt_tokens: number;
  max_completion_length: number;
  mean_completion_tokens: number | null;
  reward: string;
  load_s: number | null;
  warmup_steps: number;
  warmup_s: number | null;
  steps: GrpoStepJson[];
  decode: { seconds: number; tokens: number }[];
  mean_step_s: number | null;
  rollout_tokens_per_s: number | null;
  train_tokens_per_s: number | null;
  trained_tokens_per_s: number | null;
  generation_share: number | null;
  reward_share: number | null;
  train_share: number | null;
  decode_tokens_per_s: number | null;
  rollout_vs_decode: number | null;
  best_rollout_vs_decode: number | null;
  pipelines_compiled_while_timed: number | null;
  error?: string;
}

export interface GrpoJson {
  note: string;
  runs: GrpoRunJson[];
}

const opt = <T>(v: T | undefined): T | null => v ?? null;

export function grpoJson(ours: OursReport): GrpoJson | null {
  if (!ours.grpo?.length) return null;
  return {
    note: GRPO_NOTE,
    runs: ours.grpo.map((r) => {
      const s = r.summary;
      return {
        model: r.model,
        description: r.description,
        method: opt(r.method),
        prompts: r.prompts,
        generations: r.generations,
        prompt_tokens: r.promptTokens,
        max_completion_length: r.completionTokens,
        mean_completion_tokens: opt(r.meanCompletionTokens),
        reward: r.reward,
        load_s: opt(r.loadS),
        warmup_steps: r.warmupSteps,
        warmup_s: opt(r.warmupS),
        steps: r.steps.map((x) => ({
          step: x.step,
          step_s: x.stepS,
          rollout_s: x.rolloutS,
          reward_s: x.rewardS,
          train_s: x.trainS,
          generated_tokens: x.generatedTokens,
          tokens: x.tokens,
          trained_tokens: x.trainedTokens,
          loss: x.loss,
          reward: Number.isFinite(x.reward) ? x.reward : null,
        })),
        decode: r.decode.map((d) => ({ seconds: d.seconds, tokens: d.tokens })),
        mean_step_s: opt(s?.meanStepS),
        rollout_tokens_per_s: opt(s?.rolloutTokensPerS),
        train_tokens_per_s: opt(s?.trainTokensPerS),
        trained_tokens_per_s: opt(s?.trainedTokensPerS),
        generation_share: opt(s?.generationShare),
        reward_share: opt(s?.rewardShare),
        train_share: opt(s?.trainShare),
        decode_tokens_per_s: opt(s?.decodeTokensPerS),
        rollout_vs_decode: opt(s?.rolloutVsDecode),
        best_rollout_vs_decode: opt(s?.bestRolloutVsDecode),
        pipelines_compiled_while_timed: opt(r.pipelinesCompiledWhileTimed),
        ...(r.error ? { error: r.error } : {}),
      };
    }),
  };
}

export function grpoReport(g: GrpoJson, note: string | null): string[] {
  const rows = g.runs.map((r) => [
    r.model,
    `${r.prompts} x ${r.generations}`,
    `${r.prompt_tokens} + ${r.max_completion_length}${r.mean_completion_tokens === null ? '' : ` (${fmt(r.mean_completion_tokens, 1)})`}`,
    r.error ? 'error' : fmt(r.mean_step_s),
    fmt(r.rollout_tokens_per_s, 1),
    fmt(r.decode_tokens_per_s, 1),
    r.rollout_vs_decode === null ? '-' : `${fmt(r.rollout_vs_decode)}x`,
    fmt(r.train_tokens_per_s, 1),
    pct(r.generation_share),
    pct(r.reward_share),
    pct(r.train_share),
  ]);
  const out = [
    'grpo  GRPO steps: rollouts sampled on the GPU, built-in rewards, LoRA training' + softwareMark(note),
    table(
      ['model', 'prompts x G', 'P + L (mean L)', 'step s', 'rollout tokens/s', 'greedy tokens/s', 'rollout / greedy', 'train tokens/s', 'generating', 'rewards', 'training'],
      rows,
    ),
  ];
  for (const r of g.runs) {
    const parts = [`${r.model}: ${r.description}`];
    if (r.method) parts.push(r.method);
    parts.push(`reward ${r.reward}`);
    if (r.warmup_s !== null) parts.push(`${r.warmup_steps} warm-up step(s) ${fmt(r.warmup_s, 1)} s`);
    if (r.steps.length) {
      parts.push(
        `${r.steps.length} timed step(s): ` +
          r.steps.map((x) => `${fmt(x.step_s)} s (rollouts ${fmt(x.rollout_s)}, train ${fmt(x.train_s)})`).join(', ') +
          `; greedy ${r.decode.map((d) => `${fmt(d.seconds)} s`).join(', ')}`,
      );
      parts.push(`best rollout / best greedy ${fmt(r.best_rollout_vs_decode)}x`);
    }
    out.push(parts.join('; '));
    if (r.pipelines_compiled_while_timed) {
      out.push(`  WARNING: ${r.pipelines_compiled_while_timed} pipeline(s) compiled after the warm-up: the timed figures include compilation`);
    }
    if (r.error) out.push(`  error: ${r.error}`);
  }
  out.push(`grpo: ${g.note}`);
  return out;
}
