// Sample generations at an evaluation: greedy continuations of a few held-out prompts through the model
// with the adapter as trained so far. The adapter is attached only while they generate, so the model is
// the base model again for everything else.

import { generate } from '../engine/model/generate';
import type { GpuCausalLm } from '../engine/model/gpu/gpu-model';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import type { GpuBackend } from '../engine/train/gpu/gpu-backend';

/** New tokens per sample: enough for a sentence or two of a story. */
export const SAMPLE_TOKENS = 48;

export async function adapterSamples(
  model: GpuCausalLm,
  backend: GpuBackend,
  tokenizer: ModelTokenizer,
  prompts: readonly number[][],
): Promise<{ prompt: string; text: string }[]> {
  if (prompts.length === 0) return [];
  backend.attach(true);
  try {
    const results = await generate(model, prompts, { maxNewTokens: SAMPLE_TOKENS, temperature: 0 }, { tokenizer });
    return results.map((r, i) => ({ prompt: tokenizer.decode(prompts[i], { skipSpecialTokens: true }), text: r.text ?? '' }));
  } finally {
    backend.attach(false);
  }
}
