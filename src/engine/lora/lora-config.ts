// LoRA hyper-parameters and which linear modules they target, with PEFT's matching rule: a target name
// matches a module whose dotted path is that name or ends with "." + name ("c_proj" hits both GPT-2
// projections, "attn.c_proj" only the attention one); "all-linear" is every linear layer but the LM head.

import type { Architecture } from '../model/config';
import type { LayerWeights, LinearWeights, ModelWeights } from '../model/weights';
import { MAX_LORA_RANK } from './adapter-limits';

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  /** Module names as PEFT's target_modules, or ['all-linear']. */
  targets: string[];
  useRslora: boolean;
}

export const DEFAULT_LORA: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false };

/** The names a user may give per architecture (documentation and validation). */
export const TARGET_NAMES: Record<Architecture, readonly string[]> = {
  llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  qwen2: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  gpt2: ['c_attn', 'attn.c_proj', 'c_fc', 'mlp.c_proj', 'c_proj'],
};

/** Scale of the low-rank update: alpha / r, or alpha / sqrt(r) with rsLoRA. */
export function loraScale(c: Pick<LoraConfig, 'r' | 'alpha' | 'useRslora'>): number {
  return c.useRslora ? c.alpha / Math.sqrt(c.r) : c.alpha / c.r;
}

export function validateLoraConfig(c: LoraConfig, architecture: Architecture): void {
  if (!Number.isInteger(c.r) || c.r < 1) throw new RangeError(`LoRA rank r must be a positive integer, got ${c.r}`);
  // The rank an import accepts: what Tunelab trains and exports must come back in.
  if (c.r > MAX_LORA_RANK) throw new RangeError(`LoRA rank r must be at most ${MAX_LORA_RANK} (a rank above a layer's width adds nothing), got ${c.r}`);
  if (!(c.alpha > 0)) throw new RangeError(`lora_alpha must be positive, got ${c.alpha}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new RangeError(`lora_dropout must be in [0, 1), got ${c.dropout}`);
  if (c.targets.length === 0) throw new RangeError('LoRA needs at least one target module');
  if (c.targets.includes('all-linear')) return;
  const known = TARGET_NAMES[architecture];
  for (const t of c.targets) {
    if (!known.some((k) => k === t || k.endsWith(`.${t}`) || t.endsWith(`.${k}`))) {
      throw new RangeError(`LoRA target "${t}" is not a linear module of ${architecture} (known: ${known.join(', ')}, or all-linear)`);
    }
  }
}

export function matchesTarget(path: string, targets: readonly string[]): boolean {
  if (targets.includes('all-linear')) return true;
  return targets.some((t) => path === t || path.endsWith(`.${t}`));
}

export type LinearSlot = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
export const LINEAR_SLOTS: readonly LinearSlot[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

/** Every linear layer of the model with its layer index and slot. */
export function linearLayers(weights: ModelWeights): { layer: number; slot: LinearSlot; linear: LinearWeights }[] {
  const out: { layer: number; slot: LinearSlot; linear: LinearWeights }[] = [];
  weights.layers.forEach((l: LayerWeights, layer) => {
    for (const slot of LINEAR_SLOTS) {
      const linear = l[slot];
      if (linear) out.push({ layer, slot, linear });
    }
  });
  return out;
}
