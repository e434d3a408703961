// README.md of a TRL export: what the folder holds, how to install and launch it on one or several GPUs
// (`accelerate launch`), how GRPO's batch maps, where the adapter lands and how it comes back into Tunelab,
// the settings side by side, and every way the project cannot follow the run exactly.

import { lrSchedulerType, TRL_TRAINERS } from './trl-config';
import type { TrlDataset } from './trl-dataset';
import { METHOD_TITLES, TRL_VERSION, type TrlProjectSpec } from './trl-spec';
import { EVAL_FILE, TRAIN_FILE } from './train-script';


/** The differences every export has, and those its settings bring. */
export function exportNotes(spec: TrlProjectSpec, dataset: TrlDataset): string[] {
  const notes = [
    `TRL shuffles the data with its own generator (seed ${spec.loop.seed}), so examples come in another order than in Tunelab; bf16 mixed precision and CUDA kernels round differently from Tunelab's WebGPU kernels. Expect the same course of the loss, not the same digits.`,
  ];
  if (spec.preference) {
    notes.push(
      `Tunelab kept the last ${spec.preference.maxPromptLength} tokens of each prompt; TRL ${TRL_VERSION}'s ${TRL_TRAINERS[spec.method].config} has no max_prompt_length, so only prompt + answer are cut, to max_length (${spec.maxLength}) tokens from the start.`,
    );
  }
  const g = spec.grpo;
  if (g && g.stopStrings.length > 0) {
    notes.push(
      `Tunelab stopped each completion at its stop strings (${g.stopStrings.map((s) => JSON.stringify(s)).join(', ')}); GRPOTrainer's generate() call passes no tokenizer, which transformers needs for stop strings, so TRL samples on to EOS or max_completion_length and trains the whole completion, while rewards.py scores the text before the first stop string as Tunelab did.`,
    );
  }
  if (g && spec.maxLength !== undefined) {
    notes.push(`Tunelab left out prompts without room for max_completion_length tokens within ${spec.maxLength} tokens; TRL ${TRL_VERSION} does not bound prompts.`);
  }
  if (g && dataset.eval.length > 0) notes.push("Each TRL evaluation samples every held-out prompt; Tunelab's evaluations sample a bounded number of them.");
  return [...notes, ...dataset.notes, ...spec.notes];
}

function settingsTable(spec: TrlProjectSpec): string[] {
  const { loop, lora } = spec;
  const rows: [string, string, string][] = [
    ['LoRA r, alpha, dropout', `${lora.r}, ${lora.alpha}, ${lora.dropout}`, 'r, lora_alpha, lora_dropout'],
    ['LoRA targets', lora.targets.join(', '), 'target_modules'],
    ['rsLoRA', String(lora.useRslora), 'use_rslora'],
    ['steps', String(loop.steps), 'max_steps'],
    ['batch x accumulation', `${loop.batchSize} x ${loop.gradAccum}`, 'per_device_train_batch_size x gradient_accumulation_steps (x processes)'],
    ['learning rate, schedule, warmup', `${loop.lr}, ${loop.scheduler}, ${loop.warmupSteps}`, `learning_rate, lr_scheduler_type "${lrSchedulerType(loop.scheduler, loop.warmupSteps)}", warmup_steps`],
    ['AdamW betas, eps, weight decay', `${loop.beta1}, ${loop.beta2}, ${loop.eps}, ${loop.weightDecay}`, 'adam_beta1, adam_beta2, adam_epsilon, weight_decay (optim "adamw_torch")'],
    ['gradient clipping', String(loop.maxGradNorm), 'max_grad_norm'],
    ['seed', String(loop.seed), 'seed'],
    ['evaluate / save every', `${loop.evalEvery} / ${loop.saveEvery} steps`, 'eval_steps / save_steps'],
  ];
  if (spec.maxLength !== undefined && spec.method !== 'grpo') rows.push(['max length', String(spec.maxLength), 'max_length']);
  return ['| Tunelab | value | TRL / PEFT |', '|---|---|---|', ...rows.map(([a, b, c]) => `| ${a} | ${b.replace(/\|/g, '\\|')} | ${c} |`)];
}

function grpoSection(spec: TrlProjectSpec, hasNode: boolean): string[] {
  const g = spec.grpo!;
  const completions = spec.loop.batchSize * spec.loop.gradAccum;
  const lines = [
    '## GRPO: batch and rewards',
    '',
    `TRL counts GRPO's batch in completions: \`per_device_train_batch_size\` completions per micro-batch, and each generation samples \`per_device_train_batch_size x processes x gradient_accumulation_steps\` completions, \`num_generations\` (${g.numGenerations}) per prompt. The run trained ${spec.loop.batchSize} x ${spec.loop.gradAccum} = ${completions} completions per step, ${completions / g.numGenerations} prompts x ${g.numGenerations}; train.py keeps that on any number of GPUs.`,
    '',
    `\`rewards.py\` holds the run's reward functions (${g.rewards.map((r) => `\`${r.name}\` x ${r.weight}`).join(', ')}; \`reward_weights\` in train.py), each scoring as Tunelab's reward of the same kind; a call that fails scores 0 and is counted in the metric \`reward_errors/<name>\`.`,
  ];
  if (hasNode) {
    lines.push(
      '',
      "Custom rewards are the run's JavaScript, in `rewards/*.cjs`, run by `node` (Node.js 18 or later must be installed on every machine that trains): rewards.py sends each completion and its record as JSON on stdin and reads the score back, with the run's time limit per call " +
        `(${g.rewardTimeLimitMs} ms). Unlike Tunelab's sandbox, node gives the code network and file access: run only code you trust.`,
    );
  }
  return [...lines, ''];
}

export function trlReadme(spec: TrlProjectSpec, dataset: TrlDataset, hasNode: boolean): string {
  const t = TRL_TRAINERS[spec.method];
  const unit = spec.method === 'sft' ? 'examples' : spec.method === 'grpo' ? 'prompts' : 'pairs';
  const files = [
    `- \`train.py\`: PEFT's \`LoraConfig\` and TRL's \`${t.config}\` with the run's values, then \`${t.trainer}\` (\`from ${t.module}\`).`,
    `- \`${TRAIN_FILE}\` (${dataset.train.length} ${unit})${dataset.eval.length ? `, \`${EVAL_FILE}\` (${dataset.eval.length} held out)` : ''}: TRL's ${dataset.shape} format.`,
    ...(spec.method === 'grpo' ? [`- \`rewards.py\`${hasNode ? ' and `rewards/*.cjs`' : ''}: the reward functions.`] : []),
    '- `accelerate_config.yaml`: data-parallel training on the GPUs of one machine.',
    "- `run.json`: the run's settings as exported.",
  ];
  const model = spec.model.isLocal
    ? `The run loaded its base model from \`${spec.model.id}\`, a path on the machine that trained: set \`MODEL_ID\` in train.py to its Hub id or to a copy of that folder here.`
    : `The base model is \`${spec.model.id}\`${spec.model.revision ? ` at revision \`${spec.model.revision}\`` : ''} from the Hugging Face Hub (\`MODEL_ID\` in train.py).`;
  return [
    `# ${METHOD_TITLES[spec.method]} of ${spec.model.id} with LoRA, as a TRL project`,
    '',
    `Exported by Tunelab from ${spec.source} (dataset: ${spec.datasetName}). \`train.py\` trains the same LoRA adapter with TRL's \`${t.trainer}\` on the same data, with the run's optimizer, schedule, batch, accumulation, length, steps and seed. Written against TRL ${TRL_VERSION}.`,
    '',
    '## Files',
    '',
    ...files,
    '',
    '## Setup',
    '',
    '```sh',
    'python3 -m venv .venv && . .venv/bin/activate',
    `pip install "trl>=${TRL_VERSION.replace(/\.dev\d+$/, '')}" peft accelerate datasets transformers torch`,
    '```',
    '',
    `TRL ${TRL_VERSION} is the main branch of July 2026: until that release is out, install it with \`pip install git+https://github.com/huggingface/trl\`.${hasNode ? ' The custom rewards need `node` too (below).' : ''}`,
    '',
    model,
    '',
    '## Train',
    '',
    '```sh',
    '# every GPU of this machine, one process each (N = the number of GPUs)',
    'accelerate launch --config_file accelerate_config.yaml --num_processes N train.py',
    '# one GPU',
    'accelerate launch --config_file accelerate_config.yaml --num_processes 1 train.py',
    '```',
    '',
    `Each process takes \`per_device_train_batch_size\` (${spec.loop.batchSize}) per micro-batch; train.py divides the run's gradient accumulation (${spec.loop.gradAccum}) among the processes (\`per_process\`), so an optimizer step sees the run's batch of ${spec.loop.batchSize * spec.loop.gradAccum} whenever the number of GPUs divides ${spec.loop.gradAccum} (otherwise it says what it does instead).`,
    '',
    ...(spec.method === 'grpo' ? grpoSection(spec, hasNode) : []),
    '## Back into Tunelab',
    '',
    "At the end train.py saves the adapter into `output/` (`adapter_model.safetensors`, `adapter_config.json`, PEFT's format). Import that folder on the studio's Adapters page, or use it from the command line:",
    '',
    '```sh',
    `tunelab generate --model ${spec.model.id} --adapter output --prompt "..."`,
    '```',
    '',
    '## Settings',
    '',
    ...settingsTable(spec),
    '',
    '## Where this differs from the Tunelab run',
    '',
    ...exportNotes(spec, dataset).map((n) => `- ${n}`),
    '',
  ].join('\n');
}
