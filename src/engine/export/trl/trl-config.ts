// The run's settings as TRL's and PEFT's keyword arguments, with the names of the snapshot TRL_VERSION reads:
// TrainingArguments (learning_rate, per_device_train_batch_size, gradient_accumulation_steps, max_steps,
// lr_scheduler_type, warmup_steps, max_grad_norm, adam_beta1/2, adam_epsilon, weight_decay, optim, seed,
// eval_strategy/eval_steps, save_strategy/save_steps, logging_steps, report_to), then the method's config:
// SFTConfig (trl/trainer/sft_config.py), DPOConfig (dpo_config.py), CPOConfig with loss_type "simpo" and
// cpo_alpha 0 (trl/experimental/cpo/cpo_config.py), ORPOConfig (trl/experimental/orpo/orpo_config.py; its
// beta is ORPO's lambda), GRPOConfig (grpo_config.py); and PEFT's LoraConfig (peft/tuners/lora/config.py).
// The preference configs default disable_dropout to True, which would also zero the LoRA dropout the run
// trained with; train.py zeroes the base model's own dropout instead (Tunelab drops out only in the LoRA
// branch) and these keep disable_dropout=False.

import type { PyKeyword, PyValue } from './python-literal';
import type { TrlDataset } from './trl-dataset';
import type { TrlProjectSpec } from './trl-spec';

export interface TrlTrainer {
  /** `from <module> import <config>, <trainer>`. */
  module: string;
  config: string;
  trainer: string;
}

/** The trainer of each method in TRL_VERSION (SimPO and ORPO live in trl.experimental there). */
export const TRL_TRAINERS: Record<TrlProjectSpec['method'], TrlTrainer> = {
  sft: { module: 'trl', config: 'SFTConfig', trainer: 'SFTTrainer' },
  dpo: { module: 'trl', config: 'DPOConfig', trainer: 'DPOTrainer' },
  simpo: { module: 'trl.experimental.cpo', config: 'CPOConfig', trainer: 'CPOTrainer' },
  orpo: { module: 'trl.experimental.orpo', config: 'ORPOConfig', trainer: 'ORPOTrainer' },
  grpo: { module: 'trl', config: 'GRPOConfig', trainer: 'GRPOTrainer' },
};

/** transformers' scheduler names: "constant" ignores warmup, so a warmed-up constant schedule is "constant_with_warmup". */
export function lrSchedulerType(scheduler: TrlProjectSpec['loop']['scheduler'], warmupSteps: number): string {
  if (scheduler === 'constant') return warmupSteps > 0 ? 'constant_with_warmup' : 'constant';
  return scheduler;
}

const kw = (key: string, value: PyValue, comment?: string): PyKeyword => ({ key, value, comment });

/** The TrainingArguments every method shares. */
function loopKeywords(spec: TrlProjectSpec, hasEval: boolean): PyKeyword[] {
  const { loop } = spec;
  const grpo = spec.method === 'grpo' ? spec.grpo! : undefined;
  const evaluating = hasEval && loop.evalEvery > 0;
  const unit = grpo ? 'completions' : spec.method === 'sft' ? 'examples' : 'pairs';
  return [
    kw('output_dir', { name: 'OUTPUT_DIR' }),
    kw('max_steps', loop.steps, 'optimizer steps'),
    kw('per_device_train_batch_size', loop.batchSize, `${unit} per micro-batch on each GPU`),
    kw('gradient_accumulation_steps', { call: 'per_process', args: [loop.gradAccum] }, `the run's ${loop.gradAccum}, shared among the GPUs`),
    kw('learning_rate', loop.lr),
    kw('lr_scheduler_type', lrSchedulerType(loop.scheduler, loop.warmupSteps), `Tunelab: ${loop.scheduler}`),
    kw('warmup_steps', loop.warmupSteps),
    kw('max_grad_norm', loop.maxGradNorm, loop.maxGradNorm > 0 ? 'clip the global gradient norm' : '0: no clipping'),
    kw('optim', 'adamw_torch', "AdamW with torch's semantics, as Tunelab's"),
    kw('adam_beta1', loop.beta1),
    kw('adam_beta2', loop.beta2),
    kw('adam_epsilon', loop.eps),
    kw('weight_decay', loop.weightDecay),
    kw('seed', loop.seed),
    kw('logging_steps', 1),
    kw('eval_strategy', evaluating ? 'steps' : 'no'),
    ...(evaluating ? [kw('eval_steps', loop.evalEvery), kw('eval_on_start', true, 'Tunelab evaluates before the first step too')] : []),
    kw('per_device_eval_batch_size', grpo ? (grpo.numGenerationsEval ?? grpo.numGenerations) : loop.batchSize, grpo ? "one held-out prompt's completions" : undefined),
    kw('save_strategy', loop.saveEvery > 0 ? 'steps' : 'no', loop.saveEvery > 0 ? undefined : 'the adapter is saved at the end'),
    ...(loop.saveEvery > 0 ? [kw('save_steps', loop.saveEvery)] : []),
    kw('bf16', { call: 'bf16_supported', args: [] }, 'mixed precision where the GPU has bfloat16'),
    kw('report_to', 'none'),
  ];
}

function methodKeywords(spec: TrlProjectSpec, dataset: TrlDataset): PyKeyword[] {
  const p = spec.preference;
  switch (spec.method) {
    case 'sft':
      return [
        kw('max_length', spec.maxLength!, 'tokens per sequence, the end cut off'),
        kw('packing', false),
        kw('completion_only_loss', dataset.sftLoss!.completionOnlyLoss),
        kw('assistant_only_loss', dataset.sftLoss!.assistantOnlyLoss),
      ];
    case 'dpo':
      return [
        kw('max_length', spec.maxLength!, 'prompt + answer tokens'),
        kw('beta', p!.beta),
        kw('loss_type', [p!.lossType]),
        kw('label_smoothing', p!.labelSmoothing),
        kw('precompute_ref_log_probs', p!.precomputeRef),
        kw('disable_dropout', false, "keep the LoRA dropout; the base's is off (load_base_model)"),
      ];
    case 'simpo':
      return [
        kw('max_length', spec.maxLength!, 'prompt + answer tokens'),
        kw('loss_type', 'simpo'),
        kw('cpo_alpha', 0, 'no behaviour-cloning term: pure SimPO'),
        kw('beta', p!.beta),
        kw('simpo_gamma', p!.simpoGamma),
        kw('label_smoothing', p!.labelSmoothing),
        kw('disable_dropout', false, "keep the LoRA dropout; the base's is off (load_base_model)"),
      ];
    case 'orpo':
      return [
        kw('max_length', spec.maxLength!, 'prompt + answer tokens'),
        kw('beta', p!.orpoLambda, "ORPO's lambda, the odds-ratio term's weight"),
        kw('disable_dropout', false, "keep the LoRA dropout; the base's is off (load_base_model)"),
      ];
    case 'grpo': {
      const g = spec.grpo!;
      return [
        kw('num_generations', g.numGenerations, 'completions per prompt'),
        kw('num_generations_eval', g.numGenerationsEval ?? g.numGenerations),
        kw('max_completion_length', g.maxCompletionLength),
        kw('temperature', g.temperature),
        kw('top_p', g.topP),
        kw('top_k', g.topK, g.topK === 0 ? '0: off' : undefined),
        kw('beta', g.beta, g.beta === 0 ? 'no KL term, no reference pass' : 'KL coefficient'),
        kw('num_iterations', g.numIterations),
        kw('epsilon', g.epsilon),
        kw('epsilon_high', g.epsilonHigh),
        kw('loss_type', g.lossType),
        kw('scale_rewards', g.scaleRewards),
        kw('mask_truncated_completions', g.maskTruncatedCompletions),
        kw('reward_weights', g.rewards.map((r) => r.weight), `rewards.REWARD_FUNCS: ${g.rewards.map((r) => r.name).join(', ')}`),
        kw('remove_unused_columns', false, 'the rewards read the dataset\'s other columns'),
        kw('disable_dropout', false),
      ];
    }
  }
}

/** The method config's keyword arguments: the loop's, then the method's. */
export function trainingKeywords(spec: TrlProjectSpec, dataset: TrlDataset): PyKeyword[] {
  return [...loopKeywords(spec, dataset.eval.length > 0), ...methodKeywords(spec, dataset)];
}

/** PEFT's LoraConfig equal to the run's adapter. */
export function loraKeywords(spec: TrlProjectSpec): PyKeyword[] {
  const { lora } = spec;
  const allLinear = lora.targets.includes('all-linear');
  return [
    kw('r', lora.r),
    kw('lora_alpha', lora.alpha, `scale ${lora.useRslora ? 'alpha / sqrt(r)' : 'alpha / r'}`),
    kw('lora_dropout', lora.dropout),
    kw('target_modules', allLinear ? 'all-linear' : [...lora.targets], allLinear ? 'every linear layer but the LM head' : undefined),
    kw('use_rslora', lora.useRslora),
    kw('bias', 'none'),
    kw('task_type', 'CAUSAL_LM'),
  ];
}
