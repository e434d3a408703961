// Training throughput: LoRA steps of the real GPU trainer (GpuTrainer, as the training loop's GpuBackend
// drives it) on stories260K and on a random model of SmolLM2-135M's shape, f16 base weights, AdamW, for
// each objective of options.objectives (train-workloads.ts): SFT on the chosen answers, DPO with the
// reference's log-probabilities precomputed, DPO with the reference's forward in the step.
//
// One step = one micro-batch of B sequences (DPO: B pairs, 2B sequences) of T random token ids, forward,
// backward to the LoRA parameters, global-norm clipping and AdamW, all in ONE submit, then the row losses
// and gradient norm read back (step-watch.ts times it); the next step starts after that readback, as in the
// training loop. Every objective trains its own fresh adapter (PEFT's init) on the same model. Warm-up
// steps first, objective by objective (pipeline compilation, buffer pool), then timed rounds of one step
// per objective, interleaved so that the load of a shared machine weighs on every objective alike (the
// DPO / SFT ratios are what the run is for), until maxSteps rounds or until the next round would overrun
// the time budget (at least one).

import type { GpuContext } from '../../src/engine/gpu/context';
import { adapterParameterCount, initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import type { LoraConfig } from '../../src/engine/lora/lora-config';
import type { ModelConfig } from '../../src/engine/model/config';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { loadModelFiles } from '../../src/engine/model/model-files';
import type { ModelSource } from '../../src/engine/model/source';
import { mapWeights, type ModelWeights } from '../../src/engine/model/weights';
import { GpuLoraAdapter } from '../../src/engine/train/gpu/gpu-lora';
import { GpuTrainer, type OptimizerHyper } from '../../src/engine/train/gpu/gpu-train-step';
import { Rng } from '../../src/engine/util/rng';
import { errorText, median, now, withDeadline } from './measure';
import { estimateMemory } from '../../src/engine/model/memory-estimate';
import { kernelTraits } from '../../src/engine/train/gpu/train-kernel-scratch';
import { QWEN25_05B_CONFIG, randomLlamaModel, SMOLLM2_135M_CONFIG, SMOLLM2_360M_CONFIG } from './random-model';
import { profiledStep, StepWatch, timedStep, type StepSample } from './step-watch';
import { forwardFlopsPerToken, loraFlopsPerToken, trainFlopsPerToken } from './train-flops';
import { makeWorkload, promptTokens, randomPairs, type Workload } from './train-workloads';
import type { Log, TrainBenchModelId, TrainOptions, TrainRun } from './types';

/** Where stories260K comes from in this runtime (a folder in Node, the offline-model route in the page). */
export interface TrainModelSources {
  stories260K?: { source: () => ModelSource; where: string };
}

/** AdamW as the CLI's defaults (lr 2e-4, betas 0.9 / 0.999, eps 1e-8, no decay), clipping at 1. */
export const BENCH_OPTIMIZER: OptimizerHyper = { lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

/** A model's measurement (load, warm-up, timed steps) that takes longer than this per objective counts as hung. */
export const DEADLINE_PER_OBJECTIVE_S = 900;

interface LoadedModel {
  config: ModelConfig;
  weights: ModelWeights;
  description: string;
}

/** The random shapes: config.json fields and how the report describes them. */
const RANDOM_SHAPES = {
  'smollm2-135m': [SMOLLM2_135M_CONFIG, 'SmolLM2-135M'],
  'smollm2-360m': [SMOLLM2_360M_CONFIG, 'SmolLM2-360M'],
  'qwen2.5-0.5b': [QWEN25_05B_CONFIG, 'Qwen2.5-0.5B'],
} as const;

/** A per-model option; the large shapes (not in the record) train 1 sequence with 1 warm-up step. */
function perModel(values: Partial<Record<TrainBenchModelId, number>>, id: TrainBenchModelId): number {
  return values[id] ?? 1;
}

async function loadModel(id: TrainBenchModelId, sources: TrainModelSources): Promise<LoadedModel> {
  if (id === 'stories260K') {
    const stories = sources.stories260K;
    if (!stories) throw new Error('this runtime gave no source for stories260K (drop it with --train-models=smollm2-135m)');
    const files = await loadModelFiles(stories.source());
    return { config: files.config, weights: mapWeights(files.config, files.weights), description: `stories260K (${stories.where})` };
  }
  const [raw, name] = RANDOM_SHAPES[id];
  const { config, weights } = randomLlamaModel({ ...raw }, 1);
  return { config, weights, description: `${name} shape, random weights (seed 1, std 0.02)` };
}

function shapeOf(c: ModelConfig): string {
  return `C=${c.hiddenSize} L=${c.numLayers} Hq=${c.numHeads} Hkv=${c.numKvHeads} D=${c.headDim} F=${c.intermediateSize} V=${c.vocabSize}${c.tieWordEmbeddings ? ' tied' : ''}`;
}

/** One objective on the loaded model: its row, its own adapter and trainer, its timed steps. */
interface Leg {
  run: TrainRun;
  workload: Workload;
  gpuAdapter: GpuLoraAdapter;
  trainer: GpuTrainer;
  samples: StepSample[];
  /** Pipelines compiled during this objective's timed steps. */
  compiledWhileTimed: number;
  /** GPU bytes its adapter, gradients, AdamW moments and trainer took when made. */
  adapterBytes: number;
  /** The most its steps' temporaries took at a submit. */
  stepBytes: number;
}

/** What the rows of one model share: description, shape, LoRA and optimizer set-up, FLOPs per token. */
function describeRuns(runs: readonly TrainRun[], loaded: LoadedModel, adapter: LoraAdapter, lora: LoraConfig, T: number): void {
  const { config } = loaded;
  const flops = trainFlopsPerToken(config, T);
  const o = BENCH_OPTIMIZER;
  const params = adapterParameterCount(adapter);
  for (const run of runs) {
    run.description = loaded.description;
    run.shape = shapeOf(config);
    run.matmulParams = flops.matmulParams;
    // The reference pass is a forward over the same positions: its FLOPs count for every token too.
    run.flopsPerToken = flops.flopsPerToken + (run.referencePass ? forwardFlopsPerToken(config, T) : 0);
    run.loraFlopsPerToken = loraFlopsPerToken(adapter);
    run.loraParams = params;
    run.method =
      `LoRA r=${lora.r}, alpha ${lora.alpha}, dropout 0 on ${lora.targets.join(',')} (${adapter.modules.length} modules, ${params} parameters); ` +
      `AdamW lr ${o.lr}, betas (${o.beta1}, ${o.beta2}), eps ${o.eps}, weight decay ${o.weightDecay}, clip at global norm ${o.maxGradNorm}`;
  }
}

/** Means over the timed steps, into the row. */
function summarise(leg: Leg): void {
  const { run, samples } = leg;
  const mean = (f: (s: StepSample) => number) => samples.reduce((a, s) => a + f(s), 0) / samples.length;
  run.stepS = samples.map((s) => s.totalS);
  run.meanStepS = mean((s) => s.totalS);
  run.medianStepS = median(run.stepS);
  run.bestStepS = Math.min(...run.stepS);
  run.breakdown = { recordS: mean((s) => s.breakdown.recordS), submitS: mean((s) => s.breakdown.submitS), waitS: mean((s) => s.breakdown.waitS) };
  run.dispatchesPerStep = samples[samples.length - 1].dispatches;
  run.pipelinesCompiledWhileTimed = leg.compiledWhileTimed;
  run.tokensPerS = run.tokensPerStep / run.meanStepS;
  run.modelGflops = ((run.flopsPerToken ?? 0) * run.tokensPerS) / 1e9;
}

/** estimateMemory's total for one row's shape on this device (the allocation plan the trainer allocates from). */
function estimateRow(ctx: GpuContext, config: ModelConfig, run: TrainRun, lora: LoraConfig): number {
  const limits = { maxBufferSize: ctx.limits.maxBufferSize, maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize };
  const training = { loraRank: lora.r, targets: lora.targets, referencePass: run.referencePass, objective: run.objective === 'sft' ? ('sft' as const) : ('preference' as const) };
  return estimateMemory(config, { seqLen: run.seqLen, batch: run.sequences, weightFormat: 'f16', training, kernels: kernelTraits(ctx) }, limits).total;
}

async function benchModel(ctx: GpuContext, id: TrainBenchModelId, options: TrainOptions, sources: TrainModelSources, log: Log, runs: readonly TrainRun[]): Promise<void> {
  const T = options.seqLen;
  const B = perModel(options.batch, id);
  const tLoad = now();
  const loaded = await loadModel(id, sources);
  const { config } = loaded;
  if (T > config.maxPositions) throw new RangeError(`sequence length ${T} is over ${id}'s ${config.maxPositions} positions`);
  const lora: LoraConfig = { r: options.loraR, alpha: options.loraAlpha, dropout: 0, targets: [...options.loraTargets], useRslora: false };
  const adapter = initAdapter(planAdapter(config.architecture, loaded.weights, lora), new Rng(7));
  describeRuns(runs, loaded, adapter, lora, T);

  // GPU bytes, measured: the model's, each leg's adapter and trainer, the arena, each leg's step temporaries.
  const heldBefore = ctx.memory.heldBytes;
  const model = await GpuCausalLm.create(ctx, config, loaded.weights, { weightFormat: 'f16' });
  const modelBytes = ctx.memory.heldBytes - heldBefore;
  const legs: Leg[] = [];
  const watch = new StepWatch(ctx);
  const uninstall = watch.install();
  try {
    for (const run of runs) {
      const before = ctx.memory.heldBytes;
      const gpuAdapter = GpuLoraAdapter.create(ctx, adapter);
      const trainer = GpuTrainer.create(model, gpuAdapter);
      legs.push({ run, workload: makeWorkload(run.objective), gpuAdapter, trainer, samples: [], compiledWhileTimed: 0, adapterBytes: ctx.memory.heldBytes - before, stepBytes: 0 });
    }
    await ctx.device.queue.onSubmittedWorkDone();
    const loadS = now() - tLoad;
    for (const run of runs) {
      run.weightBytes = model.weightBytes;
      run.loadS = loadS;
    }
    log(`train ${id}: ${runs[0].shape}, ${(model.weightBytes / 1e6).toFixed(1)} MB of f16 weights, loaded in ${loadS.toFixed(1)} s; B = ${B}, T = ${T}, prompt ${promptTokens(T)} tokens`);

    // Step k of every objective trains on randomPairs(k): the same prompts and answers.
    const step = async (leg: Leg, k: number, timed: boolean): Promise<StepSample> => {
      const prepared = await leg.workload.prepare(leg.trainer, randomPairs(k, B, T, config.vocabSize));
      const pipelines = ctx.pipelines.size;
      const sample = await timedStep(leg.trainer, watch, prepared, BENCH_OPTIMIZER);
      if (timed) leg.compiledWhileTimed += ctx.pipelines.size - pipelines;
      leg.stepBytes = Math.max(leg.stepBytes, sample.liveBytes);
      leg.run.peakGpuBytes = modelBytes + leg.adapterBytes + ctx.uniforms.bytes + leg.stepBytes;
      const loss = prepared.loss(sample.result);
      leg.run.lossFirst ??= loss;
      leg.run.lossLast = loss;
      return sample;
    };
    // A failing objective keeps its error on its row; the others go on.
    const fail = (leg: Leg, err: unknown) => {
      if (err instanceof Error && err.name === 'DeadlineError') throw err;
      leg.run.error = errorText(err);
      log(`train ${id} ${leg.run.objective}: error: ${leg.run.error}`);
    };

    const warmup = perModel(options.warmup, id);
    for (const leg of legs) {
      const tWarm = now();
      try {
        for (let k = 0; k < warmup; k++) {
          const s = await step(leg, k, false);
          log(`train ${id} ${leg.run.objective}: warm-up step ${k + 1}/${warmup}: ${s.totalS.toFixed(2)} s, loss ${leg.run.lossLast!.toFixed(4)}`);
        }
      } catch (err) {
        fail(leg, err);
      }
      leg.run.warmupS = now() - tWarm;
    }

    let active = legs.filter((l) => !l.run.error);
    const rounds: number[] = [];
    const start = now();
    while (active.length && rounds.length < options.maxSteps) {
      if (rounds.length > 0 && now() - start + median(rounds) > options.budgetS * legs.length) break;
      const tRound = now();
      for (const leg of active) {
        try {
          const s = await step(leg, warmup + rounds.length, true);
          leg.samples.push(s);
          log(`train ${id} ${leg.run.objective}: step ${leg.samples.length}: ${s.totalS.toFixed(3)} s, loss ${leg.run.lossLast!.toFixed(4)}`);
        } catch (err) {
          fail(leg, err);
        }
      }
      rounds.push(now() - tRound);
      active = active.filter((l) => !l.run.error);
    }
    if (options.cpuSteps > 0) {
      for (const leg of legs.filter((l) => !l.run.error)) {
        try {
          leg.run.cpuProbe = await cpuProbe(leg, watch, options, B, config.vocabSize, (line) => log(`train ${id} ${leg.run.objective}: CPU probe ${line}`));
          const p = leg.run.cpuProbe;
          log(`train ${id} ${leg.run.objective}: CPU probe, median of ${p.steps} steps at T = ${p.seqLen}: record ${(p.recordS * 1e3).toFixed(1)} ms, submit ${(p.submitS * 1e3).toFixed(1)} ms, ${p.dispatches} dispatches`);
        } catch (err) {
          // The timed steps stand; the row just has no probe.
          if (err instanceof Error && err.name === 'DeadlineError') throw err;
          log(`train ${id} ${leg.run.objective}: CPU probe failed: ${errorText(err)}`);
        }
      }
    }
    if (options.profile && ctx.device.features.has('timestamp-query')) {
      for (const leg of legs.filter((l) => !l.run.error)) {
        const prepared = await leg.workload.prepare(leg.trainer, randomPairs(warmup + rounds.length, B, T, config.vocabSize));
        const kernels = await profiledStep(leg.trainer, watch, prepared, BENCH_OPTIMIZER);
        leg.run.kernelTimes = kernels.map((k) => ({ label: k.label, dispatches: k.dispatches, ms: k.ns / 1e6 }));
        const total = kernels.reduce((sum, k) => sum + k.ns, 0);
        const top = kernels.slice(0, 12).map((k) => `${k.label} ${(k.ns / 1e6).toFixed(1)} ms x${k.dispatches} (${((100 * k.ns) / total).toFixed(1)}%)`);
        log(`train ${id} ${leg.run.objective}: GPU time by kernel, one profiled step (${(total / 1e6).toFixed(1)} ms): ${top.join('; ')}`);
      }
    }
    for (const leg of legs) {
      if (leg.run.error || !leg.samples.length) continue;
      summarise(leg);
      const r = leg.run;
      r.estimateGpuBytes = estimateRow(ctx, config, r, lora);
      const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
      log(
        `train ${id} ${r.objective}: ${r.tokensPerS!.toFixed(1)} tokens/s, ${r.modelGflops!.toFixed(2)} model GFLOP/s (mean of ${leg.samples.length} steps); ` +
          `GPU memory ${mib(r.peakGpuBytes!)} measured, ${mib(r.estimateGpuBytes)} estimated`,
      );
    }
  } finally {
    uninstall();
    for (const leg of legs) {
      leg.trainer.dispose();
      leg.gpuAdapter.dispose();
    }
    model.dispose();
    ctx.pool.trim(); // this model's step temporaries: the next model starts with the memory free
  }
}

/** Untimed steps of the CPU probe first: its shorter sequences compile pipelines of their own. */
const CPU_PROBE_WARMUP = 2;

/**
 * The CPU probe of one objective (TrainOptions.cpuSteps): steps at cpuSeqLen tokens per sequence, median
 * record and submit times and the dispatches of the last step. The same trainer and adapter go on training.
 */
async function cpuProbe(leg: Leg, watch: StepWatch, options: TrainOptions, B: number, vocab: number, log: Log): Promise<NonNullable<TrainRun['cpuProbe']>> {
  const T = options.cpuSeqLen;
  const record: number[] = [];
  const submit: number[] = [];
  let dispatches = 0;
  for (let k = 0; k < CPU_PROBE_WARMUP + options.cpuSteps; k++) {
    const prepared = await leg.workload.prepare(leg.trainer, randomPairs(100_000 + k, B, T, vocab));
    const sample = await timedStep(leg.trainer, watch, prepared, BENCH_OPTIMIZER);
    prepared.loss(sample.result); // a non-finite loss is an error here too
    const { recordS, submitS } = sample.breakdown;
    log(`step ${k + 1}${k < CPU_PROBE_WARMUP ? ' (untimed)' : ''}: record ${(recordS * 1e3).toFixed(1)} ms, submit ${(submitS * 1e3).toFixed(1)} ms`);
    if (k < CPU_PROBE_WARMUP) continue;
    record.push(recordS);
    submit.push(submitS);
    dispatches = sample.dispatches;
  }
  return { seqLen: T, steps: options.cpuSteps, recordS: median(record), submitS: median(submit), dispatches };
}

/** The rows of one model, one per objective, before anything is measured. */
function plannedRuns(id: TrainBenchModelId, options: TrainOptions): TrainRun[] {
  const T = options.seqLen;
  const B = perModel(options.batch, id);
  const P = promptTokens(T);
  return options.objectives.map((objective) => {
    const workload = makeWorkload(objective);
    const sequences = workload.sequences(B);
    return {
      model: id,
      objective,
      objectiveLabel: workload.label,
      description: id,
      weightFormat: 'f16',
      seqLen: T,
      batch: B,
      sequences,
      promptTokens: P,
      referencePass: workload.referencePass,
      tokensPerStep: sequences * T,
      trainedTokensPerStep: sequences * (T - P),
      warmupSteps: perModel(options.warmup, id),
      stepS: [],
    };
  });
}

/** The training section: each model in turn; a failure is recorded on its rows and the next model still runs. */
export async function benchTraining(ctx: GpuContext, options: TrainOptions, sources: TrainModelSources, log: Log): Promise<TrainRun[]> {
  const all: TrainRun[] = [];
  for (const id of options.models) {
    const runs = plannedRuns(id, options);
    all.push(...runs);
    try {
      await withDeadline(benchModel(ctx, id, options, sources, log, runs), DEADLINE_PER_OBJECTIVE_S * runs.length, `train ${id}`);
    } catch (err) {
      for (const run of runs) run.error ??= errorText(err);
      log(`train ${id}: error: ${errorText(err)}`);
      if (err instanceof Error && err.name === 'DeadlineError') break; // the device may be wedged
    }
  }
  return all;
}
