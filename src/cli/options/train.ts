// `tunelab train` flags: LoRA training with SFT or a preference objective (DPO, SimPO, ORPO).

import {
  choiceFlag,
  formatHelp,
  hasSwitch,
  integerFlag,
  numberFlag,
  parseFlags,
  requiredString,
  stringFlag,
  UsageError,
  type FlagSpec,
} from '../args';
import type { ObjectiveMethod } from '../../engine/train/objective';
import type { SchedulerName } from '../../engine/train/schedule';
import { COMMON_FLAGS, MODEL_FLAGS, readCommonArgs, readModelArgs, type CommonArgs, type ModelArgs } from './common';
import { GRPO_FLAGS, readGrpoArgs, type GrpoArgs } from './grpo';
import { METHOD_FLAG, PREFERENCE_FLAGS, readMethod, readPreferenceSettings, requireMethod, type PreferenceSettings } from './method';

export interface TrainArgs extends CommonArgs, ModelArgs {
  data: string;
  evalData?: string;
  /** Fraction of --data held out when there is no --eval-data (0: none). */
  evalSplit: number;
  method: ObjectiveMethod;
  /** The preference objectives' settings (TRL's defaults for SFT runs, where they are unused). */
  preference: PreferenceSettings;
  /** GRPO's settings, rewards and rollouts file (empty for the other methods). */
  grpo: GrpoArgs;
  /** Preference data: keep the last N prompt tokens (TRL's max_prompt_length; default 512). */
  maxPromptLength?: number;
  /** DPO: compute the reference's log-probabilities once before training (TRL's precompute_ref_log_probs). */
  precomputeRef: boolean;
  loraR: number;
  loraAlpha: number;
  /** Unset: 0, or the --init-adapter's lora_dropout. */
  loraDropout?: number;
  targets: string[];
  useRslora: boolean;
  initAdapter?: string;
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  scheduler: SchedulerName;
  warmupSteps: number;
  maxGradNorm: number;
  batchSize: number;
  gradAccum: number;
  maxLength?: number;
  steps?: number;
  epochs?: number;
  evalEvery: number;
  saveEvery: number;
  seed: number;
  resume?: string;
  /** Start over in an --out that holds an earlier run, deleting that run's files (out-dir.ts). */
  force: boolean;
  /** Stop (with a checkpoint) once this step is done, as Ctrl-C would: train in pieces. */
  stopAfterStep?: number;
  out: string;
  /** Train the prompt of prompt-completion data too. */
  trainPrompt: boolean;
  recompute: boolean;
  /** Greedy generations of the first eval prompts at each evaluation. */
  evalSamples: number;
}

const FLAGS: FlagSpec[] = [
  ...MODEL_FLAGS.slice(0, 1),
  { name: 'data', value: 'FILE', help: 'training data: JSONL, JSON or CSV (SFT: text, messages, prompt/completion, input_ids, Alpaca, ShareGPT; preference: prompt/chosen/rejected and their LLaMA-Factory and pre-tokenized forms)' },
  { name: 'eval-data', value: 'FILE', help: 'held-out data for evaluation' },
  { name: 'eval-split', value: 'F', help: 'without --eval-data: hold out this fraction of --data (default 0.1; 0 = none)' },
  METHOD_FLAG,
  ...PREFERENCE_FLAGS,
  ...GRPO_FLAGS,
  { name: 'max-prompt-length', value: 'N', help: 'preference data: keep the last N tokens of each prompt (default 512)' },
  { name: 'precompute-ref', help: 'dpo: compute the reference log-probabilities once before training (less memory and time per step; always on with --recompute)' },
  { name: 'lora-r', value: 'R', help: 'LoRA rank (default 8)' },
  { name: 'lora-alpha', value: 'A', help: 'LoRA alpha; the update is scaled by alpha / r (default 16)' },
  { name: 'lora-dropout', value: 'P', help: 'dropout on the LoRA input, in [0, 1) (default 0)' },
  { name: 'target', value: 'LIST', help: 'comma-separated module names, or all-linear (default q_proj,v_proj; GPT-2: c_attn)' },
  { name: 'use-rslora', help: 'scale by alpha / sqrt(r) (rank-stabilised LoRA)' },
  { name: 'init-adapter', value: 'DIR', help: 'start from this PEFT adapter (its r, alpha and targets are used); with dpo it is also the frozen reference' },
  { name: 'lr', value: 'LR', help: 'peak learning rate (default 2e-4)' },
  { name: 'weight-decay', value: 'WD', help: 'AdamW weight decay (default 0)' },
  { name: 'beta1', value: 'B1', help: 'AdamW beta1 (default 0.9)' },
  { name: 'beta2', value: 'B2', help: 'AdamW beta2 (default 0.999)' },
  { name: 'eps', value: 'EPS', help: 'AdamW epsilon (default 1e-8)' },
  { name: 'scheduler', value: 'NAME', help: 'constant, linear or cosine (default linear)' },
  { name: 'warmup-steps', value: 'N', help: 'linear warmup steps (default 0)' },
  { name: 'max-grad-norm', value: 'N', help: 'clip the global gradient norm (default 1.0; 0 disables)' },
  { name: 'batch-size', value: 'B', help: 'examples (preference: pairs) per micro-batch (default 8)' },
  { name: 'grad-accum', value: 'G', help: 'micro-batches per optimizer step (default 1)' },
  { name: 'max-length', value: 'T', help: 'truncate examples (preference: prompt + answer) to T tokens (default: 512 or the model context)' },
  { name: 'steps', value: 'N', help: 'optimizer steps' },
  { name: 'epochs', value: 'E', help: 'instead of --steps: passes over the training data (default 1)' },
  { name: 'eval-every', value: 'K', help: 'evaluate every K steps (default: 10 evaluations per run; 0 = never)' },
  { name: 'save-every', value: 'K', help: 'checkpoint every K steps (default 0: only at the end)' },
  { name: 'seed', value: 'S', help: 'seed of the data order, split, LoRA init and dropout (default 0)' },
  { name: 'resume', value: 'DIR', help: 'continue from a checkpoint folder (written by --save-every); refused if its data, --seed or --method differ from this run\'s' },
  { name: 'force', help: 'start over in an --out that holds an earlier run: deletes its run.json, metrics.jsonl, rollouts.jsonl, adapter files and checkpoints/step-N (other files stay)' },
  { name: 'stop-after-step', value: 'N', help: 'stop after step N with a checkpoint, as Ctrl-C does (continue later with --resume)' },
  { name: 'out', value: 'DIR', help: 'where the adapter, metrics.jsonl, run.json and checkpoints go; one that holds an earlier run needs --resume or --force' },
  { name: 'train-prompt', help: 'prompt-completion data: train the prompt tokens too (default: completion only)' },
  { name: 'recompute', help: 'recompute each layer in the backward instead of keeping its activations (less memory)' },
  { name: 'eval-samples', value: 'N', help: 'greedy generations for the first N eval prompts at each evaluation (default 2)' },
  ...MODEL_FLAGS.slice(1),
  ...COMMON_FLAGS,
];

export const TRAIN_HELP = formatHelp(
  'tunelab train --model DIR|HUB-ID --data FILE --out DIR [--method sft|dpo|simpo|orpo|grpo] [options]',
  'Fine-tunes a LoRA adapter with supervised fine-tuning (SFT), a preference objective (DPO, SimPO, ORPO) or\n' +
    'GRPO (completions sampled from --data prompts, scored by --reward functions), and\n' +
    'writes DIR/adapter_model.safetensors and DIR/adapter_config.json (PEFT format), DIR/metrics.jsonl (one JSON\n' +
    'object per step; evaluation rows carry eval_loss; preference runs add TRL\'s rewards/... and logps/... metrics,\n' +
    'GRPO runs reward, reward_std, completions/..., kl, clip_ratio/..., entropy; DIR/rollouts.jsonl has every completion),\n' +
    'DIR/run.json (the whole configuration) and DIR/checkpoints/. Progress goes to stderr.',
  FLAGS,
);

const positive = { min: { value: 0, exclusive: true } };

export function parseTrainArgs(argv: readonly string[]): TrainArgs {
  const flags = parseFlags('train', argv, FLAGS);
  const steps = integerFlag(flags, 'steps', { min: { value: 1 } });
  const epochs = numberFlag(flags, 'epochs', positive);
  if (steps !== undefined && epochs !== undefined) throw new UsageError('--steps and --epochs exclude each other');
  const evalData = stringFlag(flags, 'eval-data');
  const splitGiven = numberFlag(flags, 'eval-split', { min: { value: 0 }, max: { value: 1, exclusive: true } });
  if (evalData !== undefined && splitGiven !== undefined) throw new UsageError('--eval-data and --eval-split exclude each other');
  const target = stringFlag(flags, 'target');
  const targets = target?.split(',').map((t) => t.trim());
  if (targets?.some((t) => t === '')) throw new UsageError(`--target must be a comma-separated list of module names, got "${target}"`);
  const method = readMethod(flags);
  requireMethod(flags, 'max-prompt-length', method, ['dpo', 'simpo', 'orpo']);
  requireMethod(flags, 'precompute-ref', method, ['dpo']);
  requireMethod(flags, 'train-prompt', method, ['sft']);
  const initAdapter = stringFlag(flags, 'init-adapter');
  const resume = stringFlag(flags, 'resume');
  const force = hasSwitch(flags, 'force');
  if (resume !== undefined && force) throw new UsageError('--resume continues the run in --out and --force deletes it: give one of them');
  for (const name of ['lora-r', 'lora-alpha', 'target', 'use-rslora']) {
    if (initAdapter !== undefined && (flags.values.has(name) || flags.switches.has(name))) {
      throw new UsageError(`--${name} comes from the adapter's config with --init-adapter; leave it out`);
    }
  }
  return {
    ...readCommonArgs(flags),
    ...readModelArgs(flags),
    data: method === 'grpo' && flags.values.has('rollouts') && !flags.values.has('data') ? '' : requiredString(flags, 'data', 'train.jsonl'),
    evalData,
    evalSplit: evalData !== undefined ? 0 : (splitGiven ?? 0.1),
    method,
    preference: readPreferenceSettings(flags, method),
    grpo: readGrpoArgs(flags, method),
    maxPromptLength: integerFlag(flags, 'max-prompt-length', { min: { value: 1 } }),
    precomputeRef: hasSwitch(flags, 'precompute-ref'),
    loraR: integerFlag(flags, 'lora-r', { min: { value: 1 } }) ?? 8,
    loraAlpha: numberFlag(flags, 'lora-alpha', positive) ?? 16,
    loraDropout: numberFlag(flags, 'lora-dropout', { min: { value: 0 }, max: { value: 1, exclusive: true } }),
    targets: targets ?? [],
    useRslora: hasSwitch(flags, 'use-rslora'),
    initAdapter,
    lr: numberFlag(flags, 'lr', positive) ?? 2e-4,
    weightDecay: numberFlag(flags, 'weight-decay', { min: { value: 0 } }) ?? 0,
    beta1: numberFlag(flags, 'beta1', { min: { value: 0 }, max: { value: 1, exclusive: true } }) ?? 0.9,
    beta2: numberFlag(flags, 'beta2', { min: { value: 0 }, max: { value: 1, exclusive: true } }) ?? 0.999,
    eps: numberFlag(flags, 'eps', positive) ?? 1e-8,
    scheduler: choiceFlag(flags, 'scheduler', ['constant', 'linear', 'cosine'] as const) ?? 'linear',
    warmupSteps: integerFlag(flags, 'warmup-steps', { min: { value: 0 } }) ?? 0,
    maxGradNorm: numberFlag(flags, 'max-grad-norm', { min: { value: 0 } }) ?? 1,
    batchSize: integerFlag(flags, 'batch-size', { min: { value: 1 } }) ?? 8,
    gradAccum: integerFlag(flags, 'grad-accum', { min: { value: 1 } }) ?? 1,
    maxLength: integerFlag(flags, 'max-length', { min: { value: 2 } }),
    steps,
    epochs,
    evalEvery: integerFlag(flags, 'eval-every', { min: { value: 0 } }) ?? -1,
    saveEvery: integerFlag(flags, 'save-every', { min: { value: 0 } }) ?? 0,
    seed: integerFlag(flags, 'seed', { min: { value: 0 }, max: { value: 2 ** 32 - 1 } }) ?? 0,
    resume,
    force,
    stopAfterStep: integerFlag(flags, 'stop-after-step', { min: { value: 1 } }),
    out: requiredString(flags, 'out', 'runs/my-adapter'),
    trainPrompt: hasSwitch(flags, 'train-prompt'),
    recompute: hasSwitch(flags, 'recompute'),
    evalSamples: integerFlag(flags, 'eval-samples', { min: { value: 0 } }) ?? 2,
  };
}
