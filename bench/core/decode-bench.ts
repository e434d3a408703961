// Decode throughput (issue 13): greedy decode through the product's own generation path, generate() over
// the GpuCausalLm with a KV cache per sequence (as `tunelab generate` and the GRPO rollouts run it), on
// stories260K and on a random model of SmolLM2-135M's shape, f16 weights. Per model and batch size B: B
// seeded random prompts of P ids (BOS first), N new tokens each with EOS ignored (stopTokenIds: []), so
// every run decodes exactly N - 1 steps of B tokens after the prompts' pass; token ids only (no tokenizer:
// the engine's decode, without text decoding). An untimed warm-up run (pipelines), then `runs` timed runs.
//
// A decode step's time is read from generate()'s own onToken calls for row 0: between two of them lie one
// extend (record, submit, wait, logits read back) and the greedy sampling of every row. Reported against
// the bandwidth bound of decode-workloads.ts: the bytes one step must read over the copy bandwidth
// measured earlier in the same run.

import type { GpuContext } from '../../src/engine/gpu/context';
import { generate } from '../../src/engine/model/generate';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { loadModelFiles } from '../../src/engine/model/model-files';
import { mapWeights } from '../../src/engine/model/weights';
import { boundTokensPerS, decodeTiming, decodeTraffic, summariseDecode, type DecodeTiming } from './decode-workloads';
import { randomPrompts } from './grpo-workloads';
import { errorText, now, withDeadline } from './measure';
import { randomLlamaModel, SMOLLM2_135M_CONFIG } from './random-model';
import type { TrainModelSources } from './train-bench';
import type { DecodeOptions, DecodeRun, Log, TrainModelId } from './types';

/** One model's measurement (load, every batch size) that takes longer than this counts as hung. */
export const DECODE_DEADLINE_S = 900;

/** New tokens of the warm-up run: the prompts' pass and one decode step compile every pipeline. */
const WARMUP_TOKENS = 2;

async function loadModel(id: TrainModelId, sources: TrainModelSources) {
  if (id === 'stories260K') {
    const stories = sources.stories260K;
    if (!stories) throw new Error('this runtime gave no source for stories260K (drop it with --decode-models=smollm2-135m)');
    const files = await loadModelFiles(stories.source());
    return { config: files.config, weights: mapWeights(files.config, files.weights), description: `stories260K (${stories.where})` };
  }
  const { config, weights } = randomLlamaModel({ ...SMOLLM2_135M_CONFIG }, 1);
  return { config, weights, description: 'SmolLM2-135M shape, random weights (seed 1, std 0.02)' };
}

/** One greedy generate() of `prompts`, `newTokens` each, timed from its onToken calls for row 0. */
async function timedGenerate(model: GpuCausalLm, prompts: number[][], newTokens: number): Promise<DecodeTiming> {
  const rowZero: number[] = [];
  const start = now();
  const results = await generate(
    model,
    prompts,
    { maxNewTokens: newTokens, temperature: 0, stopTokenIds: [] },
    { onToken: (index) => void (index === 0 && rowZero.push(now())) },
  );
  const short = results.findIndex((r) => r.tokens.length !== newTokens);
  if (short >= 0) throw new Error(`sequence ${short} stopped after ${results[short].tokens.length} of ${newTokens} tokens (${results[short].finishReason})`);
  return decodeTiming(start, rowZero, prompts.length);
}

async function benchModel(ctx: GpuContext, id: TrainModelId, runs: DecodeRun[], options: DecodeOptions, bandwidthGbps: number | null, sources: TrainModelSources, log: Log) {
  const tLoad = now();
  const loaded = await loadModel(id, sources);
  const { config } = loaded;
  const model = await GpuCausalLm.create(ctx, config, loaded.weights, { weightFormat: 'f16' });
  try {
    await ctx.device.queue.onSubmittedWorkDone();
    const loadS = now() - tLoad;
    log(`decode ${id}: ${(model.weightBytes / 1e6).toFixed(1)} MB of f16 weights loaded in ${loadS.toFixed(1)} s`);
    for (const run of runs) {
      run.description = loaded.description;
      run.loadS = loadS;
      run.uploadedWeightBytes = model.weightBytes;
      const prompts = randomPrompts(run.batch, run.promptTokens, config.vocabSize, config.bosTokenId);
      const tWarm = now();
      await generate(model, prompts, { maxNewTokens: Math.min(WARMUP_TOKENS, run.newTokens), temperature: 0, stopTokenIds: [] });
      run.warmupS = now() - tWarm;
      run.pipelinesCompiledWhileTimed = 0;
      let retried = false;
      for (let i = 0; i < options.runs; i++) {
        const pipelines = ctx.pipelines.size;
        const t = await timedGenerate(model, prompts, run.newTokens);
        const compiled = ctx.pipelines.size - pipelines;
        const what = `prefill ${(t.prefillS * 1e3).toFixed(0)} ms, ${t.decodeSteps} steps in ${t.decodeS.toFixed(2)} s, ${(t.tokens / t.decodeS).toFixed(1)} tokens/s`;
        // A longer context than the warm-up's may pick other kernels (decode attention split over the keys):
        // as measure.ts does for a short warm-up, such a run counts as warm-up and is run again, once.
        if (compiled > 0 && !retried) {
          retried = true;
          run.warmupS += t.prefillS + t.decodeS;
          log(`decode ${id} B=${run.batch}: ${compiled} pipeline(s) compiled during run ${i + 1} (${what}): counted as warm-up, run again`);
          i--;
          continue;
        }
        run.pipelinesCompiledWhileTimed += compiled;
        run.timings.push(t);
        log(`decode ${id} B=${run.batch}: run ${i + 1}/${options.runs}: ${what}`);
      }
      const s = summariseDecode(run.timings);
      Object.assign(run, s);
      const traffic = decodeTraffic(config, model.weightFormat, run.batch, run.promptTokens, run.newTokens);
      run.traffic = traffic;
      run.bandwidthGbps = bandwidthGbps;
      run.boundTokensPerS = bandwidthGbps ? boundTokensPerS(traffic.bytesPerStep, run.batch, bandwidthGbps) : null;
      run.fractionOfBound = run.boundTokensPerS ? s.tokensPerS / run.boundTokensPerS : null;
      run.bestFractionOfBound = run.boundTokensPerS ? s.bestTokensPerS / run.boundTokensPerS : null;
      const bound = run.boundTokensPerS ? `, ${((run.fractionOfBound ?? 0) * 100).toFixed(1)}% of the bound ${run.boundTokensPerS.toFixed(1)} tokens/s` : '';
      log(`decode ${id} B=${run.batch}: ${s.tokensPerS.toFixed(1)} tokens/s${bound}`);
    }
  } finally {
    model.dispose();
    ctx.pool.trim();
  }
}

/** The rows of the decode section before anything is measured: each model at each batch size. */
export function plannedDecodeRuns(options: DecodeOptions): DecodeRun[] {
  return options.models.flatMap((model) =>
    options.batches.map((batch) => ({
      model,
      description: model,
      batch,
      promptTokens: options.promptTokens,
      newTokens: options.newTokens[model],
      weightFormat: 'f16' as const,
      timings: [],
    })),
  );
}

/**
 * The decode section: each model in turn, every batch size on one upload of its weights; a failure is
 * recorded on the model's rows not yet measured and the next model still runs. `bandwidthGbps`: the copy
 * section's best figure of this run (null when it did not run: no bound then).
 */
export async function benchDecode(ctx: GpuContext, options: DecodeOptions, bandwidthGbps: number | null, sources: TrainModelSources, log: Log): Promise<DecodeRun[]> {
  const runs = plannedDecodeRuns(options);
  for (const id of options.models) {
    const mine = runs.filter((r) => r.model === id);
    try {
      await withDeadline(benchModel(ctx, id, mine, options, bandwidthGbps, sources, log), DECODE_DEADLINE_S, `decode ${id}`);
    } catch (err) {
      const error = errorText(err);
      for (const r of mine) if (r.tokensPerS === undefined) r.error = error;
      log(`decode ${id}: error: ${error}`);
      if (err instanceof Error && err.name === 'DeadlineError') break;
    }
  }
  return runs;
}
