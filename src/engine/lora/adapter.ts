// A LoRA adapter: one (A, B) pair per targeted module of the Hugging Face module tree. A module can feed
// several canonical slots: GPT-2's c_attn is q, k and v, each using a row block of B (A is shared).
//   delta_W (out, in) = scale * B (out, r) @ A (r, in)

import type { Rng } from '../util/rng';
import type { ModelWeights } from '../model/weights';
import { linearLayers, loraScale, matchesTarget, validateLoraConfig, type LinearSlot, type LoraConfig } from './lora-config';
import type { Architecture } from '../model/config';
import { describeBytes } from '../util/bytes';
import { MAX_ADAPTER_WEIGHTS_BYTES } from './adapter-limits';

export interface LoraModule {
  /** e.g. "model.layers.0.self_attn.q_proj" or "transformer.h.0.attn.c_attn". */
  path: string;
  inFeatures: number;
  outFeatures: number;
  /** (r, in) */
  a: Float32Array;
  /** (out, r) */
  b: Float32Array;
  /** Canonical slots this module feeds, with the rows of B each uses. */
  slots: { layer: number; slot: LinearSlot; rows: readonly [number, number] }[];
  fanInFanOut: boolean;
}

export interface LoraAdapter {
  config: LoraConfig;
  scale: number;
  modules: LoraModule[];
}

/** Modules the config targets, in model order, with empty A and B (shapes only: nothing allocated yet). */
export function targetedModules(architecture: Architecture, weights: ModelWeights, config: LoraConfig): LoraModule[] {
  validateLoraConfig(config, architecture);
  const byPath = new Map<string, LoraModule>();
  for (const { layer, slot, linear } of linearLayers(weights)) {
    const { path, rows, fanInFanOut } = linear.module;
    if (!matchesTarget(path, config.targets)) continue;
    const [outRows, inFeatures] = linear.weight.shape;
    const block: [number, number] = rows ? [rows[0], rows[1]] : [0, outRows];
    let m = byPath.get(path);
    if (!m) {
      m = { path, inFeatures, outFeatures: 0, a: new Float32Array(0), b: new Float32Array(0), slots: [], fanInFanOut };
      byPath.set(path, m);
    }
    m.outFeatures = Math.max(m.outFeatures, block[1]);
    m.slots.push({ layer, slot, rows: block });
  }
  if (byPath.size === 0) throw new RangeError(`LoRA targets ${config.targets.join(', ')} match no module of this model`);
  return [...byPath.values()];
}

/** Parameters of an adapter of rank r over `modules`: r * (in + out) each. */
export function loraParameterCount(modules: readonly Pick<LoraModule, 'inFeatures' | 'outFeatures'>[], r: number): number {
  return modules.reduce((n, m) => n + r * (m.inFeatures + m.outFeatures), 0);
}

/** Modules the config targets, in model order, with zero-filled A and B; refused above what an import takes back. */
export function planAdapter(architecture: Architecture, weights: ModelWeights, config: LoraConfig): LoraAdapter {
  const modules = targetedModules(architecture, weights, config);
  const bytes = 4 * loraParameterCount(modules, config.r);
  if (bytes > MAX_ADAPTER_WEIGHTS_BYTES) {
    throw new RangeError(
      `LoRA rank ${config.r} on the ${modules.length} targeted modules is ${describeBytes(bytes)} of f32 weights, over the ${describeBytes(MAX_ADAPTER_WEIGHTS_BYTES)} ` +
        'an adapter may take (what Tunelab imports back); lower the rank or target fewer modules',
    );
  }
  for (const m of modules) {
    m.a = new Float32Array(config.r * m.inFeatures);
    m.b = new Float32Array(m.outFeatures * config.r);
  }
  return { config, scale: loraScale(config), modules };
}

/**
 * PEFT's default initialisation: A Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)),
 * and B = 0, so a fresh adapter leaves the model unchanged.
 */
export function initAdapter(adapter: LoraAdapter, rng: Rng): LoraAdapter {
  for (const m of adapter.modules) {
    const bound = 1 / Math.sqrt(m.inFeatures);
    for (let i = 0; i < m.a.length; i++) m.a[i] = rng.uniform(-bound, bound);
    m.b.fill(0);
  }
  return adapter;
}

/** A deep copy with A and B as f32 (from any float array): to keep, save or upload apart from the original. */
export function cloneAdapter(adapter: {
  config: LoraConfig;
  scale: number;
  modules: (Omit<LoraModule, 'a' | 'b'> & { a: ArrayLike<number>; b: ArrayLike<number> })[];
}): LoraAdapter {
  return {
    config: { ...adapter.config, targets: [...adapter.config.targets] },
    scale: adapter.scale,
    modules: adapter.modules.map((m) => ({ ...m, slots: m.slots.map((s) => ({ ...s })), a: Float32Array.from(m.a), b: Float32Array.from(m.b) })),
  };
}

export function adapterParameterCount(adapter: LoraAdapter): number {
  return adapter.modules.reduce((n, m) => n + m.a.length + m.b.length, 0);
}

/** W (out, in) + scale * B[rows] @ A: the merged weight of one slot (CPU, float64 accumulation). */
export function mergedWeight(weight: Float32Array, module: LoraModule, rows: readonly [number, number], r: number, scale: number): Float32Array {
  const inF = module.inFeatures;
  const out = rows[1] - rows[0];
  const merged = new Float32Array(weight);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += module.b[(rows[0] + o) * r + k] * module.a[k * inF + i];
      merged[o * inF + i] += scale * s;
    }
  }
  return merged;
}
