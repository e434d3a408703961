// The base weights with an adapter merged in: W' = W + scale * B[rows] A for every adapted slot. Used by
// the CPU reference to run a model "with an adapter" (and later to export merged weights); the GPU applies
// LoRA as a separate low-rank path instead.

import type { LayerWeights, LinearWeights, ModelWeights, WeightTensor } from '../model/weights';
import { mergedWeight, type LoraAdapter } from './adapter';
import type { LinearSlot } from './lora-config';

function mergedTensor(base: WeightTensor, apply: (w: Float32Array) => Float32Array): WeightTensor {
  return { source: `${base.source} (+LoRA)`, shape: base.shape, read: () => apply(base.read()) };
}

export function mergeAdapter(weights: ModelWeights, adapter: LoraAdapter): ModelWeights {
  const layers: LayerWeights[] = weights.layers.map((l) => ({ ...l }));
  for (const m of adapter.modules) {
    for (const s of m.slots) {
      const layer = layers[s.layer];
      const linear = layer[s.slot as LinearSlot];
      if (!linear) throw new RangeError(`LoRA ${m.path}: layer ${s.layer} has no ${s.slot} projection`);
      const merged: LinearWeights = {
        ...linear,
        weight: mergedTensor(linear.weight, (w) => mergedWeight(w, m, s.rows, adapter.config.r, adapter.scale)),
      };
      layer[s.slot as LinearSlot] = merged;
    }
  }
  return { ...weights, layers };
}
