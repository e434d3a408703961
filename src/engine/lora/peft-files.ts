// PEFT's on-disk adapter: adapter_config.json plus adapter_model.safetensors with keys
// "base_model.model.<module path>.lora_A.weight" (r, in) and "...lora_B.weight" (out, r), F32, metadata
// {"format": "pt"}; no adapter name in the keys. Loading checks every key and shape against the model.
//
// Importing an adapter trained elsewhere (TRL, LLaMA-Factory, Unsloth: all PEFT's save_pretrained) applies
// rank_pattern and alpha_pattern exactly (rank-pattern.ts) and refuses what Tunelab cannot run by the field
// (peft-config.ts) or tensor (peft-keys.ts) that asks for it.
//
// fan_in_fan_out: PEFT's A is (r, in_features) and B (out_features, r) whatever the flag says; the flag only
// says whether the base weight is stored (in, out) like GPT-2's Conv1D, which matters when merging into it.
// PEFT overrides a flag that disagrees with the layer (a warning, then Conv1D gets true and nn.Linear false:
// peft/tuners/lora/layer.py dispatch_default), so the adapter computes the same either way. Tunelab knows each
// module's layout from the architecture (ModulePath.fanInFanOut) and does the same: it uses the module's,
// and reports a disagreeing flag as a warning.

import type { Architecture } from '../model/config';
import { ModelFormatError } from '../model/errors';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../model/safetensors';
import type { ModelWeights } from '../model/weights';
import { describeBytes } from '../util/bytes';
import { MAX_ADAPTER_WEIGHTS_BYTES } from './adapter-limits';
import { loraParameterCount, targetedModules, type LoraAdapter, type LoraModule } from './adapter';
import { loraScale, type LoraConfig } from './lora-config';
import { parsePeftConfig, type PeftLoraConfig } from './peft-config';
import { ADAPTER_WEIGHTS_FILE, adapterKey, loraTensors } from './peft-keys';
import { foldModule, moduleRanks, patternReport, type ModuleRank } from './rank-pattern';

export { ADAPTER_WEIGHTS_FILE, adapterKey } from './peft-keys';
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';

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

const plainConfig = (c: PeftLoraConfig): LoraConfig => ({ r: c.r, alpha: c.alpha, dropout: c.dropout, targets: [...c.targets], useRslora: c.useRslora });

/**
 * The LoRA settings an adapter_config.json gives a run (for forms and memory estimates, before any model is
 * at hand): r is the largest of r and rank_pattern's ranks, an upper bound of the rank the loader uses, which
 * is the largest rank of the modules the patterns actually match. Throws naming the field on what Tunelab
 * cannot run.
 */
export function parseAdapterConfig(json: unknown): LoraConfig {
  const { config } = parsePeftConfig(json);
  return { ...plainConfig(config), r: Math.max(config.r, ...config.rankPattern.map((e) => e.value)) };
}

/** An imported adapter and what the import did beyond plain LoRA, for the CLI and the studio to show. */
export interface PeftImport {
  adapter: LoraAdapter;
  /** What was applied: rank_pattern, alpha_pattern and the folding of scales, one line each. */
  notes: string[];
  /** What PEFT would also warn about or ignore: a corrected fan_in_fan_out, unknown fields, unused pattern keys. */
  warnings: string[];
}

/** The modules the config targets, with a target the model does not have reported against adapter_config.json's field. */
function modulesOrExplain(architecture: Architecture, weights: ModelWeights, config: LoraConfig): LoraModule[] {
  try {
    return targetedModules(architecture, weights, config);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new ModelFormatError(ADAPTER_CONFIG_FILE, `field "target_modules" (${config.targets.join(', ')}) does not fit this ${architecture} model: ${err.message}`);
  }
}

/**
 * Refuses, before anything is allocated, an adapter whose f32 A and B at the run's rank R would exceed
 * MAX_ADAPTER_WEIGHTS_BYTES (the bound planAdapter puts on what Tunelab trains): R comes from r or rank_pattern,
 * which pads every module to it, and the size from the modules of this model they target.
 */
function checkAdapterSize(modules: readonly LoraModule[], ranks: readonly ModuleRank[], R: number): void {
  const bytes = 4 * loraParameterCount(modules, R);
  if (bytes <= MAX_ADAPTER_WEIGHTS_BYTES) return;
  const top = ranks.find((m) => m.r === R);
  const field = top?.rankEntry ? `rank_pattern "${top.rankEntry.key}"` : '"r"';
  throw new ModelFormatError(
    ADAPTER_CONFIG_FILE,
    `field ${field} = ${R} over the ${modules.length} targeted modules of this model needs ${describeBytes(bytes)} of f32 LoRA weights, ` +
      `over the ${describeBytes(MAX_ADAPTER_WEIGHTS_BYTES)} limit of an adapter`,
  );
}

function fanInFanOutWarning(config: PeftLoraConfig, modules: readonly LoraModule[]): string[] {
  const other = modules.find((m) => m.fanInFanOut !== config.fanInFanOut);
  if (!other) return [];
  const layout = other.fanInFanOut ? 'Conv1D layers (weights stored (in, out))' : 'nn.Linear layers';
  return [
    `${ADAPTER_CONFIG_FILE}: fan_in_fan_out is ${config.fanInFanOut} but ${other.path} and the like are ${layout}: applied as ${other.fanInFanOut}, ` +
      'as PEFT corrects it (lora_A and lora_B mean the same either way)',
  ];
}

/** Where a module's rank comes from, for shape messages. */
function rankSource(rank: ModuleRank): string {
  return rank.rankEntry ? `r=${rank.r} from rank_pattern "${rank.rankEntry.key}"` : `r=${rank.r}`;
}

/** Builds the adapter a PEFT adapter describes for this model and fills it from adapter_model.safetensors. */
export function importPeftAdapter(configJson: unknown, weightsBytes: Uint8Array, architecture: Architecture, weights: ModelWeights): PeftImport {
  const parsed = parsePeftConfig(configJson);
  const config = parsed.config;
  const modules = modulesOrExplain(architecture, weights, plainConfig(config));
  const ranks = moduleRanks(config, modules.map((m) => m.path));
  const R = Math.max(...ranks.map((m) => m.r));
  checkAdapterSize(modules, ranks, R);
  const adapterConfig = { ...plainConfig(config), r: R };
  const adapter: LoraAdapter = { config: adapterConfig, scale: loraScale(adapterConfig), modules };
  const tensors = loraTensors(readSafetensors(weightsBytes, ADAPTER_WEIGHTS_FILE));
  const used = new Set<string>();
  adapter.modules.forEach((m, i) => {
    const rank = ranks[i];
    const read = (which: 'A' | 'B', shape: readonly [number, number]): Float32Array => {
      const key = adapterKey(m.path, which);
      const t = tensors.get(key);
      if (!t) throw new ModelFormatError(ADAPTER_WEIGHTS_FILE, `tensor "${key}" is missing (the config targets ${config.targets.join(', ')})`);
      if (t.shape.length !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1]) {
        throw new ModelFormatError(ADAPTER_WEIGHTS_FILE, `tensor "${t.name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] (${rankSource(rank)})`);
      }
      used.add(key);
      return t.toFloat32();
    };
    const a = read('A', [rank.r, m.inFeatures]);
    const b = read('B', [m.outFeatures, rank.r]);
    m.a = new Float32Array(R * m.inFeatures);
    m.b = new Float32Array(m.outFeatures * R);
    foldModule(m, R, a, b, rank.r, rank.scale / adapter.scale);
  });
  for (const [key, t] of tensors) {
    if (!used.has(key)) throw new ModelFormatError(ADAPTER_WEIGHTS_FILE, `tensor "${t.name}" does not belong to any targeted module of this model`);
  }
  const report = patternReport(config, ranks, adapter.scale);
  return { adapter, notes: report.notes, warnings: [...fanInFanOutWarning(config, adapter.modules), ...parsed.warnings, ...report.warnings] };
}

/** importPeftAdapter's adapter alone. */
export function loadPeftAdapter(configJson: unknown, weightsBytes: Uint8Array, architecture: Architecture, weights: ModelWeights): LoraAdapter {
  return importPeftAdapter(configJson, weightsBytes, architecture, weights).adapter;
}
