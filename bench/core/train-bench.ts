// Training throughput: LoRA SFT steps of the real GPU trainer (GpuTrainer, as the SFT loop's GpuBackend
// drives it) on stories260K and on a random model of SmolLM2-135M's shape, f16 base weights, AdamW.
//
// One step = one micro-batch of `batch` sequences of T random token ids (labels = the shifted ids, so
// T - 1 trained tokens each), forward, backward to the LoRA parameters, global-norm clipping and AdamW, all
// in ONE submit, then the loss and gradient norm read back; the next step starts after that readback, as
// in the SFT loop. Warm-up steps first (pipeline compilation, buffer pool), then timed steps until
// maxSteps or until the next one would overrun the time budget (at least one). Each timed step is split
// into record (JavaScript), submit (StepEncoder.submit) and wait (device + readback) by wrapping the
// context's step() for the duration of the measurement.

import type { GpuContext } from '../../src/engine/gpu/context';
import type { StepEncoder } from '../../src/engine/gpu/step-encoder';
import { adapterParameterCount, initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import type { LoraConfig } from '../../src/engine/lora/lora-config';
import type { ModelConfig } from '../../src/engine/model/config';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { loadModelFiles } from '../../src/engine/model/model-files';
import type { ModelSource } from '../../src/engine/model/source';
import { mapWeights, type ModelWeights } from '../../src/engine/model/weights';
import { GpuLoraAdapter } from '../../src/engine/train/gpu/gpu-lora';
import { GpuTrainer, type OptimizerHyper } from '../../src/engine/train/gpu/gpu-train-step';
import { shiftedLabels, trainedTokens, type TrainBatch } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';
import { median, now, withDeadline } from './measure';
import { randomLlamaModel, SMOLLM2_135M_CONFIG } from './random-model';
import { loraFlopsPerToken, trainFlopsPerToken } from './train-flops';
import type { Log, StepBreakdown, TrainModelId, TrainOptions, TrainRun } from './types';

/** Where stories260K comes from in this runtime (a folder in Node, the offline-model route in the page). */
export interface TrainModelSources {
  stories260K?: { source: () => ModelSource; where: string };
}

/** AdamW as the CLI's defaults (lr 2e-4, betas 0.9 / 0.999, eps 1e-8, no decay), clipping at 1. */
export const BENCH_OPTIMIZER: OptimizerHyper = { lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

/** A whole model's measurement (load, warm-up, timed steps) that takes longer counts as hung. */
const MODEL_DEADLINE_S = 900;

interface LoadedModel {
  config: ModelConfig;
  weights: ModelWeights;
  description: string;
}

async function loadModel(id: TrainModelId, sources: TrainModelSources): Promise<LoadedModel> {
  if (id === 'stories260K') {
    const stories = sources.stories260K;
    if (!stories) throw new Error('this runtime gave no source for stories260K (drop it with --train-models=smollm2-135m)');
    const files = await loadModelFiles(stories.source());
    return { config: files.config, weights: mapWeights(files.config, files.weights), description: `stories260K (${stories.where})` };
  }
  const { config, weights } = randomLlamaModel({ ...SMOLLM2_135M_CONFIG }, 1);
  return { config, weights, description: 'SmolLM2-135M shape, random weights (seed 1, std 0.02)' };
}

function shapeOf(c: ModelConfig): string {
  return `C=${c.hiddenSize} L=${c.numLayers} Hq=${c.numHeads} Hkv=${c.numKvHeads} D=${c.headDim} F=${c.intermediateSize} V=${c.vocabSize}${c.tieWordEmbeddings ? ' tied' : ''}`;
}

/** `batch` sequences of T random ids in [0, V), trained on every next token. */
function randomBatch(rng: Rng, batch: number, T: number, V: number): TrainBatch {
  return {
    sequences: Array.from({ length: batch }, () => {
      const inputIds = Int32Array.from({ length: T }, () => rng.int(V));
      return { inputIds, labels: shiftedLabels(inputIds) };
    }),
  };
}

/** Times spent in StepEncoder.submit() and dispatches recorded, for every step created while installed. */
class StepWatch {
  submitS = 0;
  submitEndedAt = 0;
  dispatches = 0;

  constructor(private readonly ctx: GpuContext) {}

  install(): () => void {
    const ctx = this.ctx;
    const original = ctx.step;
    ctx.step = (): StepEncoder => {
      const step = original.call(ctx);
      const dispatch = step.dispatch.bind(step);
      step.dispatch = (...args) => {
        this.dispatches++;
        dispatch(...args);
      };
      const submit = step.submit.bind(step);
      step.submit = async () => {
        const t = now();
        try {
          await submit();
        } finally {
          this.submitEndedAt = now();
          this.submitS += this.submitEndedAt - t;
        }
      };
      return step;
    };
    return () => {
      ctx.step = original;
    };
  }

  reset(): void {
    this.submitS = 0;
    this.submitEndedAt = 0;
    this.dispatches = 0;
  }
}

interface StepSample {
  totalS: number;
  breakdown: StepBreakdown;
  dispatches: number;
  loss: number;
}

/** One optimizer step over one micro-batch, the way GpuBackend.trainStep runs it, split into its phases. */
async function timedStep(trainer: GpuTrainer, watch: StepWatch, batch: TrainBatch): Promise<StepSample> {
  watch.reset();
  const t0 = now();
  const trained = trainedTokens(batch);
  const { result } = await trainer.submitMicroBatch(batch, { kind: 'constant', scale: 1 / trained }, { optimizer: BENCH_OPTIMIZER });
  const submitted = now();
  const r = await result;
  const t1 = now();
  if (!r.optimizer) throw new Error('the optimizer step did not run');
  const loss = r.rowLoss.reduce((sum, x) => sum + x, 0) / trained;
  if (!Number.isFinite(loss) || !Number.isFinite(r.optimizer.gradNorm)) {
    throw new Error(`step ${r.optimizer.step}: loss ${loss}, gradient norm ${r.optimizer.gradNorm} (not finite)`);
  }
  const submitS = watch.submitS;
  // The submit ends inside submitMicroBatch; what follows it (until the readback) is waiting.
  const submitEnded = watch.submitEndedAt || submitted;
  return {
    totalS: t1 - t0,
    breakdown: { recordS: Math.max(0, submitEnded - t0 - submitS), submitS, waitS: t1 - submitEnded },
    dispatches: watch.dispatches,
    loss,
  };
}

async function benchModel(ctx: GpuContext, id: TrainModelId, options: TrainOptions, sources: TrainModelSources, log: Log, run: TrainRun): Promise<void> {
  const T = options.seqLen;
  const B = options.batch[id];
  const tLoad = now();
  const loaded = await loadModel(id, sources);
  const { config } = loaded;
  run.description = loaded.description;
  run.shape = shapeOf(config);
  if (T > config.maxPositions) throw new RangeError(`sequence length ${T} is over ${id}'s ${config.maxPositions} positions`);

  const lora: LoraConfig = { r: options.loraR, alpha: options.loraAlpha, dropout: 0, targets: [...options.loraTargets], useRslora: false };
  const adapter = initAdapter(planAdapter(config.architecture, loaded.weights, lora), new Rng(7));
  const flops = trainFlopsPerToken(config, T);
  run.matmulParams = flops.matmulParams;
  run.flopsPerToken = flops.flopsPerToken;
  run.loraFlopsPerToken = loraFlopsPerToken(adapter);
  run.loraParams = adapterParameterCount(adapter);
  const o = BENCH_OPTIMIZER;
  run.method =
    `LoRA r=${lora.r}, alpha ${lora.alpha}, dropout 0 on ${lora.targets.join(',')} (${adapter.modules.length} modules, ${run.loraParams} parameters); ` +
    `AdamW lr ${o.lr}, betas (${o.beta1}, ${o.beta2}), eps ${o.eps}, weight decay ${o.weightDecay}, clip at global norm ${o.maxGradNorm}`;

  const model = await GpuCausalLm.create(ctx, config, loaded.weights, { weightFormat: 'f16' });
  let gpuAdapter: GpuLoraAdapter | undefined;
  let trainer: GpuTrainer | undefined;
  const watch = new StepWatch(ctx);
  const uninstall = watch.install();
  try {
    gpuAdapter = GpuLoraAdapter.create(ctx, adapter);
    trainer = GpuTrainer.create(model, gpuAdapter);
    await ctx.device.queue.onSubmittedWorkDone();
    run.weightBytes = model.weightBytes;
    run.loadS = now() - tLoad;
    log(`train ${id}: ${run.shape}, ${(model.weightBytes / 1e6).toFixed(1)} MB of f16 weights, loaded in ${run.loadS.toFixed(1)} s; ${B} x ${T} tokens per step`);

    const rng = new Rng(11);
    const tWarm = now();
    for (let i = 0; i < run.warmupSteps; i++) {
      const s = await timedStep(trainer, watch, randomBatch(rng, B, T, config.vocabSize));
      if (i === 0) run.lossFirst = s.loss;
      run.lossLast = s.loss;
      log(`train ${id}: warm-up step ${i + 1}/${run.warmupSteps}: ${s.totalS.toFixed(2)} s, loss ${s.loss.toFixed(4)}`);
    }
    run.warmupS = now() - tWarm;

    const samples: StepSample[] = [];
    const pipelinesBefore = ctx.pipelines.size;
    const start = now();
    while (samples.length < options.maxSteps) {
      if (samples.length > 0 && now() - start + median(samples.map((s) => s.totalS)) > options.budgetS) break;
      const s = await timedStep(trainer, watch, randomBatch(rng, B, T, config.vocabSize));
      samples.push(s);
      run.lossFirst ??= s.loss;
      run.lossLast = s.loss;
      log(`train ${id}: step ${samples.length}: ${s.totalS.toFixed(3)} s, loss ${s.loss.toFixed(4)}`);
    }
    const mean = (f: (s: StepSample) => number) => samples.reduce((a, s) => a + f(s), 0) / samples.length;
    run.stepS = samples.map((s) => s.totalS);
    run.meanStepS = mean((s) => s.totalS);
    run.bestStepS = Math.min(...run.stepS);
    run.breakdown = { recordS: mean((s) => s.breakdown.recordS), submitS: mean((s) => s.breakdown.submitS), waitS: mean((s) => s.breakdown.waitS) };
    run.dispatchesPerStep = samples[samples.length - 1].dispatches;
    run.pipelinesCompiledWhileTimed = ctx.pipelines.size - pipelinesBefore;
    run.tokensPerS = run.tokensPerStep / run.meanStepS;
    run.modelGflops = (flops.flopsPerToken * run.tokensPerS) / 1e9;
    log(`train ${id}: ${run.tokensPerS.toFixed(1)} tokens/s, ${run.modelGflops.toFixed(2)} model GFLOP/s (mean of ${samples.length} steps)`);
  } finally {
    uninstall();
    trainer?.dispose();
    gpuAdapter?.dispose();
    model.dispose();
    ctx.pool.trim(); // this model's step temporaries: the next model starts with the memory free
  }
}

/** The training section: each model in turn; a failure is recorded on its row and the next one still runs. */
export async function benchTraining(ctx: GpuContext, options: TrainOptions, sources: TrainModelSources, log: Log): Promise<TrainRun[]> {
  const runs: TrainRun[] = [];
  for (const id of options.models) {
    const B = options.batch[id];
    const T = options.seqLen;
    const run: TrainRun = {
      model: id,
      description: id,
      weightFormat: 'f16',
      seqLen: T,
      batch: B,
      tokensPerStep: B * T,
      trainedTokensPerStep: B * (T - 1),
      warmupSteps: options.warmup[id],
      stepS: [],
    };
    runs.push(run);
    try {
      await withDeadline(benchModel(ctx, id, options, sources, log, run), MODEL_DEADLINE_S, `train ${id}`);
    } catch (err) {
      run.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      log(`train ${id}: error: ${run.error}`);
      if (err instanceof Error && err.name === 'DeadlineError') break; // the device may be wedged
    }
  }
  return runs;
}
