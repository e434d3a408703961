// Small real Hub models that fit a browser tab, as data: the page shows them without asking the Hub.
// Sizes are the repos' model.safetensors files, rounded; a model's real config is read when it loads.

export interface CatalogModel {
  /** Hub repo id. */
  id: string;
  architecture: 'Llama' | 'Qwen2' | 'GPT-2';
  /** Parameter count as the model card states it. */
  parameters: string;
  /** Approximate download size of the weights, in bytes. */
  approxBytes: number;
  /** The checkpoint's dtype. */
  dtype: 'bf16' | 'f32';
  /** Has a chat template (instruction-tuned). */
  chat: boolean;
}

export const MODEL_CATALOG: readonly CatalogModel[] = [
  { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', architecture: 'Llama', parameters: '135M', approxBytes: 269e6, dtype: 'bf16', chat: true },
  { id: 'HuggingFaceTB/SmolLM2-360M-Instruct', architecture: 'Llama', parameters: '362M', approxBytes: 724e6, dtype: 'bf16', chat: true },
  { id: 'Qwen/Qwen2.5-0.5B-Instruct', architecture: 'Qwen2', parameters: '494M', approxBytes: 988e6, dtype: 'bf16', chat: true },
  { id: 'openai-community/gpt2', architecture: 'GPT-2', parameters: '124M', approxBytes: 548e6, dtype: 'f32', chat: false },
];
