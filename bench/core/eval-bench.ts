// Multiple-choice scoring throughput (issue 10): scoreContinuations, as the eval suites run it, on
// stories260K and on a random model of SmolLM2-135M's shape (f16 weights, as the product loads models), over
// the same random HellaSwag-shaped items (eval-workloads.ts) in two modes: the shared context (each item's
// context computed once, its KV rows copied to the 4 endings) and every choice from scratch (context +
// ending per choice, lm-evaluation-harness's way). One run = all items, in batches of batchTokens KV
// positions, ONE submit per batch. A warm-up run of each mode first (pipelines, buffers), then timed rounds
// of one run per mode, interleaved so a loaded machine's drift weighs on both, until maxRounds or the
// budget. Reported: items/s per mode and the speed-up (from-scratch time / shared time) of the same run.

import type { GpuContext } from '../../src/engine/gpu/context';
import { scoreContinuations } from '../../src/engine/eval/loglikelihood';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { loadModelFiles } from '../../src/engine/model/model-files';
import { mapWeights } from '../../src/engine/model/weights';
import { errorText, mean, median, now, withDeadline } from './measure';
import { randomLlamaModel, SMOLLM2_135M_CONFIG } from './random-model';
import { EVAL_ITEM_SHAPE, randomItems, rowsPerRun, shareSpeedup } from './eval-workloads';
import type { TrainModelSources } from './train-bench';
import type { EvalModelId, EvalOptions, EvalRun, Log } from './types';

/** One model's measurement that takes longer than this counts as hung. */
export const EVAL_DEADLINE_S = 1800;

async function benchModel(ctx: GpuContext, id: EvalModelId, options: EvalOptions, sources: TrainModelSources, log: Log): Promise<EvalRun> {
  const tLoad = now();
  let loaded;
  if (id === 'stories260K') {
    const stories = sources.stories260K;
    if (!stories) throw new Error('this runtime gave no source for stories260K (drop it with --eval-models=smollm2-135m)');
    const files = await loadModelFiles(stories.source());
    loaded = { config: files.config, weights: mapWeights(files.config, files.weights), description: `stories260K (${stories.where})` };
  } else {
    loaded = { ...randomLlamaModel({ ...SMOLLM2_135M_CONFIG }, 1), description: 'SmolLM2-135M shape, random weights (seed 1, std 0.02)' };
  }
  const { config } = loaded;
  const model = await GpuCausalLm.create(ctx, config, loaded.weights, { weightFormat: 'f16' });
  const itemCount = options.items[id];
  const items = randomItems(itemCount, config.vocabSize);
  const run: EvalRun = {
    model: id,
    description: loaded.description,
    items: itemCount,
    choices: itemCount * EVAL_ITEM_SHAPE.choices,
    batchTokens: options.batchTokens,
    rowsShared: rowsPerRun(items, true),
    rowsScratch: rowsPerRun(items, false),
    sharedS: [],
    scratchS: [],
    batches: 0,
    submitsPerBatch: 0,
  };
  // Submits per run, counted on the queue: the scorer promises one per batch.
  const queue = ctx.device.queue;
  const submit = queue.submit.bind(queue);
  let submits = 0;
  queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
    submits++;
    submit(buffers);
  };
  try {
    await ctx.device.queue.onSubmittedWorkDone();
    run.loadS = now() - tLoad;
    log(`eval ${id}: ${itemCount} items x ${EVAL_ITEM_SHAPE.choices} choices; ${run.rowsShared} rows shared, ${run.rowsScratch} from scratch; loaded in ${run.loadS.toFixed(1)} s`);
    const timeRun = async (shareContext: boolean): Promise<number> => {
      let batches = 0;
      submits = 0;
      const t = now();
      const scores = await scoreContinuations(model, items, { shareContext, batchTokens: options.batchTokens, onProgress: () => batches++ });
      const s = now() - t;
      if (!scores.every((row) => row.every((c) => Number.isFinite(c.logLikelihood) && c.logLikelihood < 0))) throw new Error('a log-likelihood is not finite and negative');
      run.batches = batches;
      run.submitsPerBatch = submits / batches;
      return s;
    };
    const tWarm = now();
    await timeRun(true);
    await timeRun(false);
    run.warmupS = now() - tWarm;
    log(`eval ${id}: warm-up (both modes) ${run.warmupS.toFixed(1)} s`);
    const rounds: number[] = [];
    const start = now();
    while (rounds.length < options.maxRounds) {
      if (rounds.length > 0 && now() - start + median(rounds) > options.budgetS * 2) break;
      const tRound = now();
      run.sharedS.push(await timeRun(true));
      run.scratchS.push(await timeRun(false));
      rounds.push(now() - tRound);
      log(`eval ${id}: round ${rounds.length}: shared ${run.sharedS.at(-1)!.toFixed(2)} s, from scratch ${run.scratchS.at(-1)!.toFixed(2)} s`);
    }
    run.sharedItemsPerS = itemCount / mean(run.sharedS);
    run.scratchItemsPerS = itemCount / mean(run.scratchS);
    const speedup = shareSpeedup(run.sharedS, run.scratchS);
    run.speedup = speedup.mean;
    run.bestSpeedup = speedup.best;
    log(`eval ${id}: ${run.sharedItemsPerS.toFixed(2)} items/s shared, ${run.scratchItemsPerS.toFixed(2)} from scratch: ${run.speedup.toFixed(2)}x`);
  } finally {
    queue.submit = submit;
    model.dispose();
    ctx.pool.trim();
  }
  return run;
}

/** The eval section: each model in turn; a failure is recorded on its row and the next model still runs. */
export async function benchEval(ctx: GpuContext, options: EvalOptions, sources: TrainModelSources, log: Log): Promise<EvalRun[]> {
  const runs: EvalRun[] = [];
  for (const id of options.models) {
    try {
      runs.push(await withDeadline(benchModel(ctx, id, options, sources, log), EVAL_DEADLINE_S, `eval ${id}`));
    } catch (err) {
      const items = options.items[id];
      runs.push({ model: id, description: id, items, choices: items * EVAL_ITEM_SHAPE.choices, batchTokens: options.batchTokens, rowsShared: 0, rowsScratch: 0, sharedS: [], scratchS: [], batches: 0, submitsPerBatch: 0, error: errorText(err) });
      log(`eval ${id}: error: ${errorText(err)}`);
      if (err instanceof Error && err.name === 'DeadlineError') break;
    }
  }
  return runs;
}
