// The saved adapters a run can start from (the usual preference recipe: SFT first, then DPO from that
// adapter): those made for the loaded model, each with the LoRA settings of its adapter_config.json, which
// the run then trains with. The worker checks every tensor against the model when the run starts.

import type { LoraConfig } from '../engine/lora/lora-config';
import { parseAdapterConfig } from '../engine/lora/peft-files';
import type { AdapterSummary } from '../worker/protocol-adapters';

export interface StartAdapter {
  id: string;
  name: string;
  lora: LoraConfig;
}

/** Adapters saved for `modelSource` (the loaded model's name), newest first as listed. */
export function startAdapters(adapters: readonly AdapterSummary[], modelSource: string): StartAdapter[] {
  const usable: StartAdapter[] = [];
  for (const a of adapters) {
    if (a.baseModel !== modelSource) continue;
    try {
      usable.push({ id: a.id, name: a.name, lora: parseAdapterConfig(a.config) });
    } catch {
      // A config this version cannot read: the worker would refuse to start from it too.
    }
  }
  return usable;
}
