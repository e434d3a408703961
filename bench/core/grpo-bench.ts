// GRPO throughput (issue 11): a few GRPO steps through the product's own path, runGrpoTraining over a
// LiveRolloutSource, as `tunelab train --method grpo` runs it: the policy is the GpuCausalLm with the
// training adapter attached (GpuBackend.attach(true)), every step samples G completions of each prompt in
// one batched decode, scores them with built-in rewards (--reward syntax, default length=20), and trains on
// them (TRL's defaults: dapo, beta 0, one iteration; LoRA r 8 on q_proj, v_proj, AdamW lr 2e-4, f16 base).
// On stories260K and on a random model of SmolLM2-135M's shape (no tokenizer: every completion's text is
// empty, so text rewards score alike and the advantages are 0; the step's GPU work does not depend on them).
//
// Reported per model (grpo-workloads.ts): rollout tokens/s, training tokens/s of the step without the
// rollouts and rewards, the shares of the step spent generating and scoring, and the rollouts' tokens/s
// against plain greedy generate() of the same prompts x G on the same model in the same run (EOS ignored,
// max_completion_length tokens each), so the cost of sampling (softmax, entropy, text decoding over the
// vocabulary) per token shows. A timed greedy run follows each timed step (in the loop's onStep hook,
// outside the step's own timing); the warm-up steps compile the decode's pipelines for both (a greedy
// warm-up run stands in when there are none).

import type { GpuContext } from '../../src/engine/gpu/context';
import { initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import type { LoraConfig } from '../../src/engine/lora/lora-config';
import { generate } from '../../src/engine/model/generate';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { loadModelFiles } from '../../src/engine/model/model-files';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { mapWeights } from '../../src/engine/model/weights';
import { GpuBackend } from '../../src/engine/train/gpu/gpu-backend';
import { LiveRolloutSource } from '../../src/engine/train/grpo/rollout-source';
import { createRewardSet, parseRewardSpecs } from '../../src/engine/train/grpo/rewards';
import { runGrpoTraining } from '../../src/engine/train/grpo/run-grpo';
import { makeGrpoObjective } from '../../src/engine/train/objectives/make-objective';
import type { LoopConfig } from '../../src/engine/train/train-loop';
import { Rng } from '../../src/engine/util/rng';
import { errorText, now, withDeadline } from './measure';
import { randomLlamaModel, SMOLLM2_135M_CONFIG } from './random-model';
import { randomPrompts, splitGrpoStep, summariseGrpo } from './grpo-workloads';
import { BENCH_OPTIMIZER, type TrainModelSources } from './train-bench';
import type { DecodeSample, GrpoOptions, GrpoRun, Log, TrainModelId } from './types';

/** One model's GRPO measurement that takes longer than this counts as hung. */
export const GRPO_DEADLINE_S = 1200;

const LORA: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false };
const SEED = 11;

async function loadModel(id: TrainModelId, sources: TrainModelSources) {
  if (id === 'stories260K') {
    const stories = sources.stories260K;
    if (!stories) throw new Error('this runtime gave no source for stories260K (drop it with --grpo-models=smollm2-135m)');
    const files = await loadModelFiles(stories.source());
    return { config: files.config, weights: mapWeights(files.config, files.weights), tokenizer: new ModelTokenizer(files), description: `stories260K (${stories.where})` };
  }
  const { config, weights } = randomLlamaModel({ ...SMOLLM2_135M_CONFIG }, 1);
  return { config, weights, tokenizer: undefined, description: 'SmolLM2-135M shape, random weights (seed 1, std 0.02), no tokenizer' };
}

async function benchModel(ctx: GpuContext, run: GrpoRun, options: GrpoOptions, sources: TrainModelSources, log: Log): Promise<void> {
  const id = run.model;
  const tLoad = now();
  const loaded = await loadModel(id, sources);
  const { config } = loaded;
  const objective = makeGrpoObjective({ numGenerations: run.generations, maxCompletionLength: run.completionTokens });
  const rewards = await createRewardSet(parseRewardSpecs(run.reward));
  const adapter = initAdapter(planAdapter(config.architecture, loaded.weights, LORA), new Rng(7));
  const model = await GpuCausalLm.create(ctx, config, loaded.weights, { weightFormat: 'f16' });
  let backend: GpuBackend | undefined;
  try {
    backend = new GpuBackend(model, adapter, { seed: SEED });
    backend.attach(true);
    await ctx.device.queue.onSubmittedWorkDone();
    run.loadS = now() - tLoad;
    run.description = loaded.description;
    const c = objective.config;
    const o = BENCH_OPTIMIZER;
    run.method =
      `GRPO ${c.lossType}, beta ${c.beta}, epsilon ${c.epsilon}, ${c.numIterations} iteration(s), temperature ${c.temperature}, top_p ${c.topP}, top_k ${c.topK}; ` +
      `LoRA r=${LORA.r}, alpha ${LORA.alpha} on ${LORA.targets.join(',')}; AdamW lr ${o.lr}, clip at ${o.maxGradNorm}; f16 base weights`;

    const prompts = randomPrompts(run.prompts, run.promptTokens, config.vocabSize, config.bosTokenId);
    const flat = prompts.flatMap((p) => Array.from({ length: run.generations }, () => p));
    // The same batch decoded greedily, every sequence to max_completion_length (no EOS): B x G x L tokens.
    const greedy = async (): Promise<DecodeSample> => {
      const t = now();
      const results = await generate(model, flat, { maxNewTokens: run.completionTokens, temperature: 0, stopTokenIds: [] });
      return { seconds: now() - t, tokens: results.reduce((n, r) => n + r.tokens.length, 0) };
    };
    log(`grpo ${id}: loaded in ${run.loadS.toFixed(1)} s`);
    // The rollouts decode through the same extend() as greedy: warm-up steps compile both.
    if (run.warmupSteps === 0) {
      const warm = await greedy();
      log(`grpo ${id}: greedy decode warm-up ${warm.seconds.toFixed(2)} s (${warm.tokens} tokens)`);
    }

    const source = new LiveRolloutSource({
      policy: () => model,
      tokenizer: loaded.tokenizer,
      train: prompts.map((prompt) => ({ prompt, promptText: loaded.tokenizer?.decode(prompt) ?? '', fields: {} })),
      heldOut: [],
      rewards,
      config: c,
      seed: SEED,
    });
    const loop: LoopConfig = {
      batchSize: run.prompts * run.generations,
      gradAccum: 1,
      steps: run.warmupSteps + options.steps[id],
      lr: o.lr,
      scheduler: 'constant',
      warmupSteps: 0,
      maxGradNorm: o.maxGradNorm,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      weightDecay: o.weightDecay,
      evalEvery: 0,
      saveEvery: 0,
      seed: SEED,
    };
    const tWarm = now();
    if (run.warmupSteps === 0) run.warmupS = 0;
    let pipelinesAfterWarmup = ctx.pipelines.size;
    let completionTokens = 0;
    let completions = 0;
    await runGrpoTraining(backend, objective, source, loop, {
      onRollouts: (r) => {
        if (r.step <= run.warmupSteps) return;
        completionTokens += r.rows.reduce((n, row) => n + row.tokens, 0);
        completions += r.rows.length;
      },
      onStep: async (m) => {
        const sample = splitGrpoStep(m);
        if (!Number.isFinite(sample.loss)) throw new Error(`GRPO step ${m.step}: loss ${sample.loss}`);
        const what = `${sample.stepS.toFixed(2)} s (rollouts ${sample.rolloutS.toFixed(2)} s, ${sample.generatedTokens} tokens; rewards ${sample.rewardS.toFixed(3)} s), loss ${sample.loss.toFixed(4)}, reward ${sample.reward.toFixed(3)}`;
        if (m.step <= run.warmupSteps) {
          log(`grpo ${id}: warm-up step ${m.step}/${run.warmupSteps}: ${what}`);
          if (m.step === run.warmupSteps) {
            run.warmupS = now() - tWarm;
            pipelinesAfterWarmup = ctx.pipelines.size;
          }
          return;
        }
        run.steps.push(sample);
        // Outside the step's timing: the loop starts the next step's clock after this hook.
        run.decode.push(await greedy());
        const d = run.decode.at(-1)!;
        log(`grpo ${id}: step ${run.steps.length}: ${what}; greedy decode ${d.seconds.toFixed(2)} s (${d.tokens} tokens)`);
      },
    });
    run.pipelinesCompiledWhileTimed = ctx.pipelines.size - pipelinesAfterWarmup;
    run.meanCompletionTokens = completions ? completionTokens / completions : 0;
    run.summary = summariseGrpo(run.steps, run.decode);
    const s = run.summary;
    log(
      `grpo ${id}: rollouts ${s.rolloutTokensPerS.toFixed(1)} tokens/s (${(s.rolloutVsDecode * 100).toFixed(0)}% of greedy decode's ${s.decodeTokensPerS.toFixed(1)}), ` +
        `training ${s.trainTokensPerS.toFixed(1)} tokens/s; generating ${(s.generationShare * 100).toFixed(1)}% of the step, rewards ${(s.rewardShare * 100).toFixed(2)}%`,
    );
  } finally {
    backend?.dispose();
    model.dispose();
    rewards.dispose();
    ctx.pool.trim();
  }
}

/** The rows of the GRPO section before anything is measured. */
export function plannedGrpoRuns(options: GrpoOptions): GrpoRun[] {
  return options.models.map((model) => ({
    model,
    description: model,
    prompts: options.prompts[model],
    generations: options.generations,
    promptTokens: options.promptTokens,
    completionTokens: options.completionTokens[model],
    reward: options.reward,
    warmupSteps: options.warmup[model],
    steps: [],
    decode: [],
  }));
}

/** The GRPO section: each model in turn; a failure is recorded on its row and the next model still runs. */
export async function benchGrpo(ctx: GpuContext, options: GrpoOptions, sources: TrainModelSources, log: Log): Promise<GrpoRun[]> {
  const runs = plannedGrpoRuns(options);
  for (const run of runs) {
    try {
      await withDeadline(benchModel(ctx, run, options, sources, log), GRPO_DEADLINE_S, `grpo ${run.model}`);
    } catch (err) {
      run.error = errorText(err);
      log(`grpo ${run.model}: error: ${run.error}`);
      if (err instanceof Error && err.name === 'DeadlineError') break;
    }
  }
  return runs;
}
