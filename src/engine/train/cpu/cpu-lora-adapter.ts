// The LoRA parameters as the CPU training reference sees them: the adapter's structure (modules, slots, row
// blocks) with A and B in any float precision. A LoraAdapter (f32) is one; the training reference and the
// gradient check work on a float64 copy.

import { cloneAdapter, type LoraAdapter, type LoraModule } from '../../lora/adapter';
import type { LinearSlot, LoraConfig } from '../../lora/lora-config';
import type { Vec } from '../../ops/cpu/types';

export interface CpuLoraModule<T extends Vec = Vec> extends Omit<LoraModule, 'a' | 'b'> {
  /** (r, in) */
  a: T;
  /** (out, r) */
  b: T;
}

export interface CpuLoraAdapter<T extends Vec = Vec> {
  config: LoraConfig;
  scale: number;
  modules: CpuLoraModule<T>[];
}

/** A deep copy with A and B in float64 (the adapter itself is untouched). */
export function float64Adapter(adapter: CpuLoraAdapter): CpuLoraAdapter<Float64Array> {
  return {
    config: { ...adapter.config, targets: [...adapter.config.targets] },
    scale: adapter.scale,
    modules: adapter.modules.map((m) => ({ ...m, slots: m.slots.map((s) => ({ ...s })), a: Float64Array.from(m.a), b: Float64Array.from(m.b) })),
  };
}

/** A deep copy with A and B rounded to f32: a LoraAdapter to save as PEFT files or upload. */
export const float32Adapter: (adapter: CpuLoraAdapter) => LoraAdapter = cloneAdapter;

/** Where one canonical linear slot finds its LoRA: module index into adapter.modules and its rows of B. */
export interface LoraBinding {
  module: number;
  rows: readonly [number, number];
}

export type LayerBindings = Partial<Record<LinearSlot, LoraBinding>>;

/** Per layer, the LoRA binding of each targeted slot; checks the adapter's shapes against r and the model. */
export function bindAdapter(adapter: CpuLoraAdapter, numLayers: number): LayerBindings[] {
  const r = adapter.config.r;
  const layers: LayerBindings[] = Array.from({ length: numLayers }, () => ({}));
  adapter.modules.forEach((m, module) => {
    if (m.a.length !== r * m.inFeatures) throw new RangeError(`LoRA ${m.path}: A has ${m.a.length} values, expected r * in = ${r} * ${m.inFeatures}`);
    if (m.b.length !== m.outFeatures * r) throw new RangeError(`LoRA ${m.path}: B has ${m.b.length} values, expected out * r = ${m.outFeatures} * ${r}`);
    for (const s of m.slots) {
      if (s.layer < 0 || s.layer >= numLayers) throw new RangeError(`LoRA ${m.path}: layer ${s.layer} is outside the model's ${numLayers} layers`);
      if (s.rows[0] < 0 || s.rows[1] > m.outFeatures || s.rows[0] >= s.rows[1]) {
        throw new RangeError(`LoRA ${m.path}: rows [${s.rows[0]}, ${s.rows[1]}) do not fit its ${m.outFeatures} outputs`);
      }
      if (layers[s.layer][s.slot]) throw new RangeError(`LoRA ${m.path}: layer ${s.layer} slot ${s.slot} is already adapted by another module`);
      layers[s.layer][s.slot] = { module, rows: s.rows };
    }
  });
  return layers;
}
