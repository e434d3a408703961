// `tunelab train`: LoRA training from the command line with SFT or a preference objective (DPO, SimPO,
// ORPO). Reads and checks everything (model, data, adapter, checkpoint) before touching the GPU, then runs
// the training loop with metrics.jsonl, checkpoints and the final PEFT adapter in --out (refused when it
// holds an earlier run, unless --resume continues it or --force starts over). Ctrl-C stops after
// the current step and writes a checkpoint to resume from. A non-finite loss or gradient norm stops the run
// at that step with a non-zero exit; the last checkpoint written stays.

import type { LoraAdapter } from '../../engine/lora/adapter';
import { ModelTokenizer } from '../../engine/model/tokenizer';
import type { TrainCheckpoint } from '../../engine/train/checkpoint';
import { runTraining, type LoopConfig } from '../../engine/train/train-loop';
import { readModel } from '../load-model';
import type { TrainArgs } from '../options/train';
import { Progress } from '../progress';
import { checkOutDir } from '../out-dir';
import { RunFiles } from '../run-files';
import { runFingerprint } from '../run-fingerprint';
import type { CliStreams } from '../streams';
import { loadTrainExamples, type TrainExamples } from '../train-examples';
import { TrainProgress } from '../train-progress';
import { buildAdapter, loopConfig, openRunFolder, planRun, runInterruptible, trainingRecord } from '../train-setup';
import { startTraining, type TrainingSession } from '../train-session';
import { runGrpoTrain } from './train-grpo';

const SAMPLE_TOKENS = 48;

/** run.json: the whole configuration, in snake_case as Hugging Face configs. */
function runRecord<E>(args: TrainArgs, data: TrainExamples<E>, adapter: LoraAdapter, config: LoopConfig, maxLength: number, reference: object) {
  return {
    command: 'train',
    method: args.method,
    model: args.model,
    revision: args.revision ?? null,
    data: args.data,
    eval_data: args.evalData ?? null,
    eval_split: args.evalData ? null : args.evalSplit,
    train_examples: data.train.length,
    eval_examples: data.eval.length,
    max_length: maxLength,
    ...data.record,
    ...reference,
    ...trainingRecord(args, adapter, config),
  };
}

export async function runTrain(args: TrainArgs, io: CliStreams): Promise<number> {
  // Before anything loads: an --out holding an earlier run needs --resume or --force.
  await checkOutDir(args.out, args);
  if (args.method === 'grpo') return runGrpoTrain(args, io);
  const progress = new Progress(io.stderr, args.quiet);
  const disk = await readModel(args, progress);
  const { files, weights } = disk;
  const config = files.config;
  const tokenizer = new ModelTokenizer(files);
  const maxLength = Math.min(args.maxLength ?? 512, config.maxPositions);
  const data = await loadTrainExamples(args, tokenizer, maxLength, progress);

  const adapter = await buildAdapter(args, config.architecture, weights, progress);
  const perStep = args.batchSize * args.gradAccum;
  const steps = args.steps ?? Math.max(1, Math.ceil(((args.epochs ?? 1) * data.train.length) / perStep));
  // DPO after SFT: the initial adapter is the frozen reference; the policy trains a copy of it.
  const fingerprint = runFingerprint(data.train, args.data, args.seed, args.method);
  const { reference, evalEvery, resume, referenceRecord } = await planRun(args, data.objective, { architecture: config.architecture, weights }, adapter, steps, { fingerprint, heldOut: data.eval.length }, progress);

  const loop = loopConfig(args, steps, evalEvery);
  // Recomputation trades compute for memory: the reference pass would add back what it saves.
  const precompute = data.objective.needsReference && (args.precomputeRef || args.recompute);
  const runFiles = new RunFiles(args.out, args.model, fingerprint);
  const preference = data.objective.needsReference ? { ...referenceRecord, precompute_ref: precompute } : {};
  await openRunFolder(args, runFiles, runRecord(args, data, adapter, loop, maxLength, preference), resume?.step, progress);

  const session = await startTraining(disk, { backend: args.backend, weights: args.weights, recompute: args.recompute, seed: args.seed, reference, log: (line) => progress.line(line) }, adapter, tokenizer);
  try {
    const bar = new TrainProgress(io.stderr, args.quiet, steps, resume?.step ?? 0);
    bar.line(
      `training ${adapter.modules.length} LoRA modules (r=${adapter.config.r}, alpha=${adapter.config.alpha}) with ${args.method.toUpperCase()} on ${session.description}: ` +
        `${data.train.length} examples, ${data.eval.length} held out, ${steps} steps of ${perStep} examples${resume ? `, resuming after step ${resume.step}` : ''}`,
    );
    return await train(args, data, loop, { session, runFiles, bar, resume, precompute });
  } finally {
    session.dispose();
  }
}

interface TrainContext {
  session: TrainingSession;
  runFiles: RunFiles;
  bar: TrainProgress;
  resume: TrainCheckpoint | undefined;
  precompute: boolean;
}

async function train<E>(args: TrainArgs, data: TrainExamples<E>, loop: LoopConfig, c: TrainContext): Promise<number> {
  const { session, runFiles, bar } = c;
  const samplePrompts = data.eval.slice(0, args.evalSamples).map((e) => data.objective.promptOf(e));
  return runInterruptible(args, runFiles, bar, (signal, abort, onCheckpoint) =>
    runTraining(
      session.backend,
      data.objective,
      data.train,
      data.eval,
      loop,
      {
        signal,
        onReferenceProgress: (done, total) => bar.reference(done, total),
        onReferenceFallback: (reason) => bar.line(`${reason} The reference's pass in each step does not fit: computing its log-probabilities once instead (as --precompute-ref).`),
        onStep: async (m) => {
          const { objective, ...row } = m;
          await runFiles.metric({ ...row, ...objective });
          bar.step(m);
          if (m.step === args.stopAfterStep) abort();
        },
        onEval: async (m) => {
          const samples = samplePrompts.length ? await session.samples(samplePrompts, SAMPLE_TOKENS) : [];
          const { objective, ...row } = m;
          await runFiles.metric({ ...row, ...objective, ...(samples.length ? { samples } : {}) });
          bar.evaluation(m, samples);
        },
        onCheckpoint,
      },
      c.resume,
      { precomputeReference: c.precompute },
    ),
  );
}
