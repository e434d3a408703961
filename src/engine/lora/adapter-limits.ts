// How large an imported PEFT adapter may be, checked from sizes alone (a file's size, a zip entry's declared
// size, the rank a config asks for) before anything is read, inflated or allocated. The limits are far above
// what the small models Tunelab trains need: an f32 LoRA of rank 256 on every linear layer of Qwen2.5-0.5B is
// 537 MiB, and a config is a few KiB even with a rank_pattern entry per module.

import { ModelFormatError } from '../model/errors';
import { describeBytes, GiB, MiB } from '../util/bytes';

/**
 * The largest adapter_model.safetensors, and the largest adapter as f32 (what Tunelab holds, trains and
 * exports): an import is refused above it (peft-files.ts), and so is a run's adapter (adapter.ts planAdapter),
 * so that whatever Tunelab makes comes back in. 1 GiB of f32 is 268M parameters, over half of Qwen2.5-0.5B.
 */
export const MAX_ADAPTER_WEIGHTS_BYTES = GiB;
export const MAX_ADAPTER_CONFIG_BYTES = MiB;
/** A whole upload (the picked files together, or one .zip). */
export const MAX_ADAPTER_UPLOAD_BYTES = MAX_ADAPTER_WEIGHTS_BYTES + MAX_ADAPTER_CONFIG_BYTES;

/**
 * The largest r (and rank_pattern rank) a config may give, before any model is at hand. A module's update B·A
 * has rank at most min(in, out), which for every linear layer of the architectures Tunelab runs is at most
 * the hidden size, and the models a browser GPU can train are at most a few thousand wide (Llama 3.2 3B:
 * 3072): a larger r adds nothing but memory. The model-relative check is the size of the f32 adapter
 * (MAX_ADAPTER_WEIGHTS_BYTES), made once the targeted modules are known.
 */
export const MAX_LORA_RANK = 4096;

/** The limit for one file of an adapter, by its base name, with what it is (for messages). */
export function adapterFileLimit(baseName: string): { bytes: number; what: string } {
  if (baseName === 'adapter_config.json') return { bytes: MAX_ADAPTER_CONFIG_BYTES, what: 'an adapter_config.json' };
  if (baseName === 'adapter_model.safetensors') return { bytes: MAX_ADAPTER_WEIGHTS_BYTES, what: "an adapter's weights" };
  return { bytes: MAX_ADAPTER_UPLOAD_BYTES, what: 'an adapter upload' };
}

/** Throws naming `label` (the file as the user knows it), its size and the limit for files called `baseName`. */
export function checkAdapterFileSize(label: string, baseName: string, size: number): void {
  const limit = adapterFileLimit(baseName);
  if (size > limit.bytes) {
    throw new ModelFormatError(label, `is ${describeBytes(size)}, over the ${describeBytes(limit.bytes)} limit for ${limit.what}`);
  }
}
