// "Export as a TRL project": a Tunelab run as a folder that trains the same LoRA adapter with TRL on one or
// several GPUs: train.py, the dataset in TRL's format, rewards.py (GRPO), accelerate_config.yaml, README.md
// and run.json. Pure: the CLI writes the files to disk (writeExportFiles), the studio into a zip.

import { jsonFile, textFile, type ExportFile } from '../export-file';
import { accelerateConfigYaml } from './accelerate-config';
import { grpoRewardFiles, type GrpoRewardFiles } from './grpo-rewards-py';
import { EVAL_FILE, TRAIN_FILE, trainScript } from './train-script';
import { lrSchedulerType, TRL_TRAINERS } from './trl-config';
import { jsonl, trlDataset, type TrlDataset } from './trl-dataset';
import { exportNotes, trlReadme } from './trl-readme';
import { TRL_VERSION, validateTrlSpec, type TrlProjectSpec } from './trl-spec';

export { TrlExportError, TRL_VERSION, type TrlProjectSpec } from './trl-spec';

/** run.json of the project: the run's settings, snake_case as Tunelab's own run.json. */
function runRecord(spec: TrlProjectSpec, dataset: TrlDataset, rewards: GrpoRewardFiles | undefined) {
  const { loop, lora, preference: p, grpo: g } = spec;
  const t = TRL_TRAINERS[spec.method];
  return {
    exported_by: 'tunelab',
    format: 'trl',
    trl_version: TRL_VERSION,
    trainer: `${t.module}.${t.trainer}`,
    source: spec.source,
    method: spec.method,
    model: spec.model.id,
    revision: spec.model.revision ?? null,
    model_is_local: spec.model.isLocal,
    dataset: { name: spec.datasetName, shape: dataset.shape, columns: dataset.columns, train: dataset.train.length, eval: dataset.eval.length },
    lora: { r: lora.r, lora_alpha: lora.alpha, lora_dropout: lora.dropout, target_modules: lora.targets, use_rslora: lora.useRslora },
    batch_size: loop.batchSize,
    grad_accum: loop.gradAccum,
    steps: loop.steps,
    lr: loop.lr,
    scheduler: loop.scheduler,
    lr_scheduler_type: lrSchedulerType(loop.scheduler, loop.warmupSteps),
    warmup_steps: loop.warmupSteps,
    max_grad_norm: loop.maxGradNorm,
    beta1: loop.beta1,
    beta2: loop.beta2,
    eps: loop.eps,
    weight_decay: loop.weightDecay,
    eval_every: loop.evalEvery,
    save_every: loop.saveEvery,
    seed: loop.seed,
    max_length: spec.maxLength ?? null,
    completion_only: spec.completionOnly,
    ...(p
      ? {
          preference: {
            beta: p.beta,
            loss_type: p.lossType,
            label_smoothing: p.labelSmoothing,
            simpo_gamma: p.simpoGamma,
            orpo_lambda: p.orpoLambda,
            max_prompt_length: p.maxPromptLength,
            precompute_ref: p.precomputeRef,
          },
        }
      : {}),
    ...(g
      ? {
          grpo: {
            num_generations: g.numGenerations,
            num_generations_eval: g.numGenerationsEval ?? g.numGenerations,
            max_completion_length: g.maxCompletionLength,
            temperature: g.temperature,
            top_p: g.topP,
            top_k: g.topK,
            stop: g.stopStrings,
            beta: g.beta,
            num_iterations: g.numIterations,
            epsilon: g.epsilon,
            epsilon_high: g.epsilonHigh,
            loss_type: g.lossType,
            scale_rewards: g.scaleRewards,
            mask_truncated_completions: g.maskTruncatedCompletions,
            rewards: g.rewards.map((r) => {
              const script = rewards?.scripts.find((s) => s.reward === r.name)?.path;
              return { kind: r.kind, name: r.name, weight: r.weight, ...(script ? { script } : r.arg !== undefined ? { arg: r.arg } : {}) };
            }),
            reward_time_limit_ms: g.rewardTimeLimitMs,
          },
        }
      : {}),
    notes: exportNotes(spec, dataset),
  };
}

/** Every file of the project, or a TrlExportError naming what cannot be exported. */
export function trlProjectFiles(spec: TrlProjectSpec): ExportFile[] {
  validateTrlSpec(spec);
  const dataset = trlDataset(spec);
  const rewards = spec.method === 'grpo' ? grpoRewardFiles(spec.grpo!, dataset.fieldColumns ?? {}) : undefined;
  const files: ExportFile[] = [
    textFile('README.md', trlReadme(spec, dataset, rewards?.needsNode ?? false)),
    textFile('train.py', trainScript(spec, dataset)),
    textFile('accelerate_config.yaml', accelerateConfigYaml()),
    jsonFile('run.json', runRecord(spec, dataset, rewards)),
    textFile(TRAIN_FILE, jsonl(dataset.train)),
  ];
  if (dataset.eval.length > 0) files.push(textFile(EVAL_FILE, jsonl(dataset.eval)));
  if (rewards) {
    files.push(textFile('rewards.py', rewards.rewardsPy));
    for (const script of rewards.scripts) files.push(textFile(script.path, script.text));
  }
  return files;
}
