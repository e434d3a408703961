// PEFT's on-disk adapter: adapter_config.json plus adapter_model.safetensors with keys
// "base_model.model.<module path>.lora_A.weight" (r, in) and "...lora_B.weight" (out, r), F32, metadata
// {"format": "pt"}; no adapter name in the keys. Loading checks every key and shape against the model.

import type { Architecture } from '../model/config';
import { ModelFormatError } from '../model/errors';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../model/safetensors';
import type { ModelWeights } from '../model/weights';
import { planAdapter, type LoraAdapter } from './adapter';
import type { LoraConfig } from './lora-config';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

export function adapterKey(path: string, which: 'A' | 'B'): string {
  return `base_model.model.${path}.lora_${which}.weight`;
}

/** target_modules as PEFT writes them: the user's names, or for all-linear the matched module names. */
function targetModules(adapter: LoraAdapter): string[] {
  if (!adapter.config.targets.includes('all-linear')) return [...adapter.config.targets];
  return [...new Set(adapter.modules.map((m) => m.path.split('.').pop()!))];
}

export function adapterConfigJson(adapter: LoraAdapter, baseModel: string): Record<string, unknown> {
  const c = adapter.config;
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: c.r,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: targetModules(adapter),
    bias: 'none',
    use_rslora: c.useRslora,
    fan_in_fan_out: adapter.modules.some((m) => m.fanInFanOut),
    init_lora_weights: true,
    inference_mode: true,
    modules_to_save: null,
    use_dora: false,
  };
}

export function adapterWeightsBytes(adapter: LoraAdapter): Uint8Array {
  const tensors: Record<string, TensorToWrite> = {};
  for (const m of adapter.modules) {
    tensors[adapterKey(m.path, 'A')] = { dtype: 'F32', shape: [adapter.config.r, m.inFeatures], data: m.a };
    tensors[adapterKey(m.path, 'B')] = { dtype: 'F32', shape: [m.outFeatures, adapter.config.r], data: m.b };
  }
  return writeSafetensors(tensors, { format: 'pt' });
}

/** Reads adapter_config.json (parsed) into a LoraConfig, naming the file and field on errors. */
export function parseAdapterConfig(json: unknown): LoraConfig {
  const file = ADAPTER_CONFIG_FILE;
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ModelFormatError(file, 'must be a JSON object');
  const j = json as Record<string, unknown>;
  if (j.peft_type !== 'LORA') throw new ModelFormatError(file, `peft_type is ${JSON.stringify(j.peft_type)}, only "LORA" is supported`);
  const r = j.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) throw new ModelFormatError(file, `field "r" must be a positive integer, got ${JSON.stringify(r)}`);
  const alpha = j.lora_alpha ?? r;
  if (typeof alpha !== 'number' || !(alpha > 0)) throw new ModelFormatError(file, `field "lora_alpha" must be a positive number`);
  const dropout = j.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || dropout < 0 || dropout >= 1) throw new ModelFormatError(file, `field "lora_dropout" must be in [0, 1)`);
  const targets = j.target_modules;
  if (typeof targets === 'string') {
    if (targets === 'all-linear') return { r, alpha, dropout, targets: ['all-linear'], useRslora: j.use_rslora === true };
    throw new ModelFormatError(file, `target_modules as a regular expression ("${targets}") is not supported; list the module names`);
  }
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => typeof t === 'string')) {
    throw new ModelFormatError(file, 'field "target_modules" must be a non-empty list of module names');
  }
  if (j.bias !== undefined && j.bias !== 'none') throw new ModelFormatError(file, `bias "${String(j.bias)}" is not supported (only "none")`);
  if (j.use_dora === true) throw new ModelFormatError(file, 'DoRA adapters (use_dora: true) are not supported');
  return { r, alpha, dropout, targets: targets as string[], useRslora: j.use_rslora === true };
}

/** Builds the adapter a PEFT config describes for this model and fills it from adapter_model.safetensors. */
export function loadPeftAdapter(configJson: unknown, weightsBytes: Uint8Array, architecture: Architecture, weights: ModelWeights): LoraAdapter {
  const config = parseAdapterConfig(configJson);
  const adapter = planAdapter(architecture, weights, config);
  const file = readSafetensors(weightsBytes, ADAPTER_WEIGHTS_FILE);
  // Some tools keep the adapter name ("lora_A.default.weight"); accept it, nothing else.
  const byKey = new Map<string, (typeof file.tensors extends Map<string, infer T> ? T : never)>();
  for (const [name, t] of file.tensors) byKey.set(name.replace(/\.lora_([AB])\.default\.weight$/, '.lora_$1.weight'), t);
  const used = new Set<string>();
  for (const m of adapter.modules) {
    for (const [which, target, shape] of [
      ['A', m.a, [config.r, m.inFeatures]],
      ['B', m.b, [m.outFeatures, config.r]],
    ] as const) {
      const key = adapterKey(m.path, which);
      const t = byKey.get(key);
      if (!t) throw new ModelFormatError(ADAPTER_WEIGHTS_FILE, `tensor "${key}" is missing (the config targets ${config.targets.join(', ')})`);
      if (t.shape.length !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1]) {
        throw new ModelFormatError(ADAPTER_WEIGHTS_FILE, `tensor "${key}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
      }
      target.set(t.toFloat32());
      used.add(key);
    }
  }
  for (const key of byKey.keys()) {
    if (!used.has(key)) throw new ModelFormatError(ADAPTER_WEIGHTS_FILE, `tensor "${key}" does not belong to any targeted module of this model`);
  }
  return adapter;
}
