// Tensor names of adapter_model.safetensors. PEFT's save_pretrained (which TRL, LLaMA-Factory and Unsloth call)
// writes "base_model.model.<module path>.lora_A.weight" with the adapter name removed
// (peft/utils/save_and_load.py, get_peft_model_state_dict); a raw state_dict keeps it (".lora_A.default.weight");
// transformers' own PEFT integration saves without the "base_model.model." prefix. All three are read as the
// first. A tensor of something Tunelab does not run (DoRA, embedding adapters, biases, whole modules) is refused
// by name.

import { ModelFormatError } from '../model/errors';
import type { SafetensorsFile, TensorView } from '../model/safetensors';

export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

const PREFIX = 'base_model.model.';

export function adapterKey(path: string, which: 'A' | 'B'): string {
  return `${PREFIX}${path}.lora_${which}.weight`;
}

/** Tensors PEFT may save that Tunelab cannot run, each with what it is. */
const REFUSED_TENSORS: [RegExp, string][] = [
  [/lora_magnitude_vector/, "DoRA's magnitude vector (lora_magnitude_vector): DoRA adapters are not supported"],
  [/lora_embedding_[AB]/, 'an embedding adapter (lora_embedding_A/B): Tunelab adapts the linear layers of the blocks only'],
  [/\.lora_[AB](\.default)?\.bias$/, 'a lora_B bias (lora_bias): not supported'],
  [/modules_to_save/, 'a whole module saved beside the adapter (modules_to_save): not supported'],
  [/trainable_tokens/, 'trainable embedding rows (trainable_token_indices): not supported'],
  [/\.bias$/, 'a trained bias (bias "all" or "lora_only"): not supported'],
  [
    /(^|\.)(embed_tokens|lm_head|wte|wpe|embed_in|embed_out)\.weight$/,
    'a whole embedding or LM-head weight (PEFT saves it when the vocabulary was resized or the embeddings trained): not supported',
  ],
];

/** The canonical name of a LoRA weight, or undefined for any other tensor. */
function canonicalName(name: string): string | undefined {
  const m = /^(.+)\.lora_([AB])(\.default)?\.weight$/.exec(name);
  if (!m) return undefined;
  const path = m[1].startsWith(PREFIX) ? m[1].slice(PREFIX.length) : m[1];
  return adapterKey(path, m[2] as 'A' | 'B');
}

/**
 * The file's lora_A / lora_B weights by canonical name (each with the name as written, for messages); throws
 * naming the first tensor that is not a LoRA weight or that repeats one.
 */
export function loraTensors(file: SafetensorsFile): Map<string, TensorView> {
  const byKey = new Map<string, TensorView>();
  for (const [name, tensor] of file.tensors) {
    const refused = REFUSED_TENSORS.find(([re]) => re.test(name));
    if (refused) throw new ModelFormatError(ADAPTER_WEIGHTS_FILE, `tensor "${name}" is ${refused[1]}`);
    const key = canonicalName(name);
    if (!key) throw new ModelFormatError(ADAPTER_WEIGHTS_FILE, `tensor "${name}" is not a LoRA weight (lora_A / lora_B)`);
    const twin = byKey.get(key);
    if (twin) throw new ModelFormatError(ADAPTER_WEIGHTS_FILE, `tensors "${twin.name}" and "${name}" are the same LoRA weight; keep one`);
    byKey.set(key, tensor);
  }
  return byKey;
}
