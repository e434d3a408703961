// An adapter record as the lists show it: without its weights, with their size and module count.

import { ADAPTER_WEIGHTS_FILE } from '../engine/lora/peft-files';
import { readSafetensors } from '../engine/model/safetensors';
import type { AdapterRecord } from '../storage/records';
import type { AdapterSummary } from './protocol-adapters';

/** LoRA modules in adapter_model.safetensors: one lora_A tensor each (PEFT keys, with or without ".default"). */
export function adapterModuleCount(weights: Uint8Array): number {
  const file = readSafetensors(weights, ADAPTER_WEIGHTS_FILE);
  let modules = 0;
  for (const name of file.tensors.keys()) if (/\.lora_A(\.default)?\.weight$/.test(name)) modules++;
  return modules;
}

export function adapterSummary(record: AdapterRecord): AdapterSummary {
  const { weights, ...rest } = record;
  // Records were checked when saved; a damaged one still lists (with 0 modules) so it can be deleted.
  let modules = 0;
  try {
    modules = adapterModuleCount(weights);
  } catch {
    modules = 0;
  }
  return { ...rest, bytes: weights.byteLength, modules };
}
