// HumanEval-JS: completions of each problem's prompt (greedy for pass@1, or n seeded samples per problem for
// pass@k), cut at the problem's own stop tokens, then prompt + completion + tests run in the CodeSandbox
// (suites/humaneval.ts scores them with the unbiased pass@k). Progress counts generations, then programs.

import { ProgressTracker } from './eval-progress';
import { generateForItems } from './run-generation';
import type { EvalModel, KindResult, RunContext } from './run-types';
import type { HumanEvalItem, HumanEvalSuiteSpec } from './suite-types';
import { scoreHumanEval } from './suites/humaneval';

export async function runHumanEval(spec: HumanEvalSuiteSpec, items: readonly HumanEvalItem[], model: EvalModel, ctx: RunContext): Promise<KindResult> {
  const { generation, ks, timeoutMs } = spec.options;
  const sandbox = ctx.sandbox;
  if (!sandbox) throw new Error(`suite ${spec.name}: HumanEval runs generated code, and no code sandbox was given`);
  const perItem = generation.sampling?.samplesPerItem ?? 1;
  const maxK = Math.max(...ks);
  if (ks.length === 0 || maxK > perItem) {
    throw new Error(`suite ${spec.name}: pass@${maxK} needs at least ${maxK} samples per problem, the suite draws ${perItem}${generation.sampling ? '' : ' (greedy)'}`);
  }
  const progress = new ProgressTracker(2 * items.length, ctx.onProgress);
  const generated = await generateForItems(
    model,
    items.map((item) => item.prompt),
    generation,
    ctx,
    progress,
    items.map((item) => item.stopTokens),
  );
  const finished = items.slice(0, generated.samples.length);
  const result = await scoreHumanEval(
    sandbox,
    finished,
    generated.samples.map((samples) => samples.map((s) => s.text)),
    { timeLimitMs: timeoutMs, ks, signal: ctx.signal, onProblemDone: (done) => progress.update(items.length + done) },
  );
  return { ...result, cancelled: result.cancelled || generated.cancelled };
}
