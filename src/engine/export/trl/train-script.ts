// train.py of a TRL export: the run's LoRA as PEFT's LoraConfig, the run's loop and objective as the method's
// TRL config (trl-config.ts), one `keyword=value,` line each so they can be read back, then the base model
// loaded with its own dropout off, the JSONL dataset, the trainer, and the adapter saved into output/.

import { pyConstructor, pyString } from './python-literal';
import { loraKeywords, TRL_TRAINERS, trainingKeywords } from './trl-config';
import type { TrlDataset } from './trl-dataset';
import { METHOD_TITLES, TRL_VERSION, type TrlProjectSpec } from './trl-spec';

export const TRAIN_FILE = 'data/train.jsonl';
export const EVAL_FILE = 'data/eval.jsonl';

/** Text safe inside the docstring: no backslash escapes, no closing quotes, no control characters. */
const docText = (text: string) => text.replace(/\\/g, '/').replace(/"/g, "'").replace(/[\x00-\x1f\x7f]/g, ' ');


/** Why GRPO's batch numbers are what they are (TRL counts completions; grpo_config.py __post_init__). */
function grpoBatchComment(spec: TrlProjectSpec): string[] {
  const { batchSize, gradAccum } = spec.loop;
  const G = spec.grpo!.numGenerations;
  const completions = batchSize * gradAccum;
  return [
    "# TRL's GRPO batch counts completions, not prompts: per_device_train_batch_size completions per micro-batch,",
    '# and one generation samples per_device_train_batch_size x processes x steps_per_generation (by default',
    '# gradient_accumulation_steps) completions: that many / num_generations prompts, num_generations each.',
    `# The run: ${batchSize} x ${gradAccum} = ${completions} completions per optimizer step = ${completions / G} prompts x ${G} completions,`,
    '# sampled once per num_iterations steps. per_process() keeps batch x accumulation x processes at the run\'s',
    `# ${completions}, so every GPU count samples the same ${completions / G} prompts per generation.`,
  ];
}

export function trainScript(spec: TrlProjectSpec, dataset: TrlDataset): string {
  const t = TRL_TRAINERS[spec.method];
  const grpo = spec.method === 'grpo';
  const hasEval = dataset.eval.length > 0;
  const dataFiles = `{"train": str(HERE / ${pyString(TRAIN_FILE)})${hasEval ? `, "eval": str(HERE / ${pyString(EVAL_FILE)})` : ''}}`;
  const trainerArgs = [
    '        model=load_base_model(),',
    ...(grpo ? ['        reward_funcs=REWARD_FUNCS,'] : []),
    '        args=TRAINING_CONFIG,',
    '        train_dataset=data["train"],',
    `        eval_dataset=${hasEval ? 'data["eval"]' : 'None'},`,
    '        processing_class=tokenizer,',
    '        peft_config=PEFT_CONFIG,',
  ];
  return [
    `"""${METHOD_TITLES[spec.method]} of ${docText(spec.model.id)} with LoRA: a Tunelab run (${docText(spec.source)}) as a TRL project.`,
    '',
    `Written against TRL ${TRL_VERSION}. Run with: accelerate launch --config_file accelerate_config.yaml train.py`,
    'The adapter lands in output/ (adapter_model.safetensors, adapter_config.json): import it into Tunelab.',
    '"""',
    '',
    'import os',
    'from pathlib import Path',
    '',
    'import torch',
    'from datasets import load_dataset',
    'from peft import LoraConfig',
    'from transformers import AutoModelForCausalLM, AutoTokenizer',
    `from ${t.module} import ${t.config}, ${t.trainer}`,
    ...(grpo ? ['', 'from rewards import REWARD_FUNCS, check_rewards'] : []),
    '',
    'HERE = Path(__file__).resolve().parent',
    'OUTPUT_DIR = str(HERE / "output")',
    '# Processes started by accelerate launch (one per GPU).',
    'WORLD_SIZE = int(os.environ.get("WORLD_SIZE", "1"))',
    '',
    spec.model.isLocal
      ? '# The base model the run loaded from a local folder: replace it with a Hub id or a path on this machine.'
      : '# The base model on the Hugging Face Hub.',
    `MODEL_ID = ${pyString(spec.model.id)}`,
    `MODEL_REVISION = ${spec.model.revision ? pyString(spec.model.revision) : 'None'}`,
    '',
    '',
    'def per_process(accumulation: int) -> int:',
    '    """The run\'s micro-batches per optimizer step shared among the processes, so a step sees the run\'s batch."""',
    '    if accumulation % WORLD_SIZE != 0:',
    '        share = max(1, accumulation // WORLD_SIZE)',
    '        print(f"gradient accumulation {accumulation} does not divide among {WORLD_SIZE} processes: "',
    '              f"each step sees {share * WORLD_SIZE} micro-batches instead of the run\'s {accumulation}")',
    '        return share',
    '    return accumulation // WORLD_SIZE',
    '',
    '',
    'def bf16_supported() -> bool:',
    '    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()',
    '',
    '',
    'def load_base_model():',
    '    model = AutoModelForCausalLM.from_pretrained(MODEL_ID, revision=MODEL_REVISION, dtype="auto")',
    '    # Tunelab trains with the base model\'s own dropout off: only the LoRA branch drops out.',
    '    for module in model.modules():',
    '        if isinstance(module, torch.nn.Dropout):',
    '            module.p = 0.0',
    '    return model',
    '',
    '',
    "# ---- The run's LoRA adapter ----",
    pyConstructor('PEFT_CONFIG', 'LoraConfig', loraKeywords(spec)),
    '',
    "# ---- The run's training loop and objective ----",
    ...(grpo ? grpoBatchComment(spec) : []),
    pyConstructor('TRAINING_CONFIG', t.config, trainingKeywords(spec, dataset)),
    '',
    '',
    'def main() -> None:',
    ...(grpo ? ['    check_rewards()'] : []),
    '    tokenizer = AutoTokenizer.from_pretrained(MODEL_ID, revision=MODEL_REVISION)',
    '    if tokenizer.pad_token is None:',
    '        tokenizer.pad_token = tokenizer.eos_token',
    `    data = load_dataset("json", data_files=${dataFiles})`,
    `    trainer = ${t.trainer}(`,
    ...trainerArgs,
    '    )',
    '    trainer.train()',
    "    # adapter_model.safetensors and adapter_config.json: Tunelab's Adapters page imports this folder.",
    '    trainer.save_model(OUTPUT_DIR)',
    '',
    '',
    'if __name__ == "__main__":',
    '    main()',
    '',
  ].join('\n');
}
