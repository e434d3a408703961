// Flags every command shares, and the flags that say which model to load and where to run it.

import { choiceFlag, hasSwitch, requiredString, stringFlag, type FlagSpec, type ParsedFlags } from '../args';

export interface CommonArgs {
  /** Print stack traces with errors. */
  verbose: boolean;
  /** No progress lines on stderr (errors still go there). */
  quiet: boolean;
}

export const COMMON_FLAGS: FlagSpec[] = [
  { name: 'verbose', help: 'print stack traces with errors' },
  { name: 'quiet', help: 'no progress lines on stderr (errors and warnings still appear)' },
  { name: 'help', help: 'show this help' },
];

export function readCommonArgs(flags: ParsedFlags): CommonArgs {
  return { verbose: hasSwitch(flags, 'verbose'), quiet: hasSwitch(flags, 'quiet') };
}

export type Backend = 'gpu' | 'cpu';
export type WeightFormat = 'f16' | 'f32';

export interface ModelArgs {
  /** A local folder, or a Hugging Face Hub id like "HuggingFaceTB/SmolLM2-135M-Instruct". */
  model: string;
  backend: Backend;
  /** How the GPU stores large matrices (the CPU reference always computes from the f32 values). */
  weights: WeightFormat;
  revision?: string;
  hubEndpoint?: string;
  cacheDir?: string;
  /** A PEFT adapter folder applied on top of the model. */
  adapter?: string;
}

export const MODEL_FLAGS: FlagSpec[] = [
  { name: 'model', value: 'DIR|HUB-ID', help: 'a model folder, or a Hugging Face Hub repo id (downloaded once, then cached)' },
  { name: 'backend', value: 'gpu|cpu', help: 'gpu (default: WebGPU through dawn.node) or cpu (the slow exact reference)' },
  { name: 'weights', value: 'f16|f32', help: 'how the GPU stores large matrices (default f16)' },
  { name: 'revision', value: 'REV', help: 'Hub branch, tag or commit (default main)' },
  { name: 'hub-endpoint', value: 'URL', help: 'a server that answers like huggingface.co (default https://huggingface.co)' },
  { name: 'cache-dir', value: 'DIR', help: 'where Hub downloads are cached' },
];

/** For commands that run a model with an adapter (generate, logits, eval). */
export const ADAPTER_FLAG: FlagSpec = { name: 'adapter', value: 'DIR', help: 'apply this PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors)' };

export function readModelArgs(flags: ParsedFlags): ModelArgs {
  return {
    model: requiredString(flags, 'model', 'HuggingFaceTB/SmolLM2-135M-Instruct'),
    backend: choiceFlag(flags, 'backend', ['gpu', 'cpu'] as const) ?? 'gpu',
    weights: choiceFlag(flags, 'weights', ['f16', 'f32'] as const) ?? 'f16',
    revision: stringFlag(flags, 'revision'),
    hubEndpoint: stringFlag(flags, 'hub-endpoint'),
    cacheDir: stringFlag(flags, 'cache-dir'),
    adapter: stringFlag(flags, 'adapter'),
  };
}
